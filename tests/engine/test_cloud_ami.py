"""The offline answer to `aws.ec2.get_ami`: what the owners and filters pin down, and a refusal for
a lookup an honest answer cannot make up."""

from __future__ import annotations

import pytest

from layerguard import cloud

TOKEN = "aws:ec2/getAmi:getAmi"


def ami(**args):
    return cloud.invoke(TOKEN, args, "eu-west-1")


def name_filter(pattern: str) -> list[dict]:
    return [{"name": "name", "values": [pattern]}]


def test_owner_and_name_pattern_are_honoured():
    image = ami(owners=["679593333241"], mostRecent=True, filters=name_filter("wallarm-node-7-1-*"))
    assert image["ownerId"] == "679593333241" and image["imageOwnerAlias"] == "aws-marketplace"
    assert image["name"].startswith("wallarm-node-7-1-") and "*" not in image["name"]
    assert image["id"] == image["imageId"] and image["id"].startswith("ami-") and len(image["id"]) == 21
    assert image["imageLocation"] == f"aws-marketplace/{image['name']}"
    assert image["architecture"] == "x86_64" and image["rootDeviceName"] == "/dev/xvda"
    # Deterministic, and another owner or name is another image.
    assert ami(owners=["679593333241"], filters=name_filter("wallarm-node-7-1-*"))["id"] == image["id"]
    assert ami(owners=["111122223333"], filters=name_filter("wallarm-node-7-1-*"))["id"] != image["id"]
    assert ami(owners=["679593333241"], filters=name_filter("wallarm-node-6-4-*"))["id"] != image["id"]


def test_owner_aliases_resolve_to_their_accounts():
    assert ami(owners=["aws-marketplace"], filters=name_filter("x-*"))["ownerId"] == "679593333241"
    mine = ami(owners=["self"], filters=name_filter("golden-*"))
    assert mine["ownerId"] == cloud.ACCOUNT_ID and mine["imageOwnerAlias"] is None
    assert mine["imageLocation"].startswith(f"{cloud.ACCOUNT_ID}/golden-")


def test_an_image_id_filter_answers_that_image():
    image = ami(owners=["679593333241"], filters=[{"name": "image-id", "values": ["ami-0123456789abcdef0"]},
                                                  {"name": "architecture", "values": ["arm64"]}])
    assert image["id"] == "ami-0123456789abcdef0" and image["architecture"] == "arm64"


@pytest.mark.parametrize("args,says", [
    ({"filters": name_filter("wallarm-node-*")}, "no owners"),
    ({"owners": ["679593333241"]}, "neither a name nor an image-id"),
    ({"owners": ["wallarm"], "filters": name_filter("x-*")}, "neither an account id nor a known alias"),
])
def test_lookups_nothing_pins_down_are_refused(args, says):
    with pytest.raises(cloud.InvokeError, match=says):
        ami(**args)
