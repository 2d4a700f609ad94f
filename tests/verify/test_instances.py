"""The EC2 node check (layerguard/verify/instances.py) against moto in server mode on loopback: an
image registered in moto's account, a launch template of it, an Auto Scaling group over the
template (moto starts its instances), and a minimal `pulumi stack export` naming those ids with the
declaration tags the EC2 fleet writes (`layerguard:node-ami-name`, `layerguard:node-ami-owner`).

moto registers images in its own account (123456789012, as STS reports it), so the compliant
declaration names that account, not Wallarm's publisher 679593333241.

What moto cannot emulate: an Auto Scaling group whose desired capacity holds but whose instances
are not in service (moto launches a replacement for an instance put in standby, as AWS does, and
keeps every instance it starts InService). That path is fed a DescribeAutoScalingGroups response of
the documented shape (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_AutoScalingGroup.html)
through the same code, with EC2 still answered by moto.
"""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest

from layerguard.cli import main
from layerguard.verify import findings, instances
from layerguard.verify.live import connect
from layerguard.verify.state import parse

REGION = "eu-west-1"
PROJECT, STACK = "layerguard", "dev"
IMAGE_NAME = "wallarm-node-6-2-20260101"


def urn(token: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{token}::{name}"


def aws(url: str, service: str):
    return boto3.client(service, region_name=REGION, endpoint_url=url)


@pytest.fixture
def fleet(moto_url):
    """A fresh moto account with one node fleet; returns its ids."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).read()
    ec2, autoscaling = aws(moto_url, "ec2"), aws(moto_url, "autoscaling")
    owner = aws(moto_url, "sts").get_caller_identity()["Account"]
    image = ec2.register_image(Name=IMAGE_NAME, RootDeviceName="/dev/xvda")["ImageId"]
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    template = ec2.create_launch_template(LaunchTemplateName="node-template",
                                          LaunchTemplateData={"ImageId": image, "InstanceType": "t3.medium"}
                                          )["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="node-asg-1234", MinSize=2, MaxSize=4, DesiredCapacity=2, VPCZoneIdentifier=subnet,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        Tags=[{"Key": "layerguard:layer", "Value": "node", "PropagateAtLaunch": True}])
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["node-asg-1234"])["AutoScalingGroups"][0]
    assert len(group["Instances"]) == 2
    return {"url": moto_url, "owner": owner, "image": image, "subnet": subnet, "template": template,
            "group": "node-asg-1234", "instances": [i["InstanceId"] for i in group["Instances"]]}


def export(fleet, *, name: str = IMAGE_NAME, owner: str | None = None, declare: bool = True,
           layer: str = "node", extra: list | None = None) -> dict:
    """A `pulumi stack export` (version 3) with the fleet's launch template and group, as the EC2
    fleet writes them (a hand-written stack's shape: layer tags on the resources, no component)."""
    lt_urn = urn("aws:ec2/launchTemplate:LaunchTemplate", "node-template")
    ami_tags = {"layerguard:node-ami-name": name, "layerguard:node-ami-owner": owner or fleet["owner"]} if declare else {}
    lt_tags = {"layerguard:layer": layer, "Name": "node-template", **ami_tags}
    asg_tags = [{"key": k, "value": v, "propagateAtLaunch": True}
                for k, v in {"layerguard:layer": layer, "Name": "node-asg", **ami_tags}.items()]
    resources = [
        {"urn": urn("pulumi:pulumi:Stack", f"{PROJECT}-{STACK}"), "custom": False, "type": "pulumi:pulumi:Stack"},
        {"urn": urn("pulumi:providers:aws", "default"), "custom": True, "type": "pulumi:providers:aws",
         "id": "prov-1", "inputs": {"region": REGION}, "outputs": {"region": REGION}},
        {"urn": lt_urn, "custom": True, "type": "aws:ec2/launchTemplate:LaunchTemplate", "id": fleet["template"],
         "inputs": {"imageId": fleet["image"], "instanceType": "t3.medium", "tags": lt_tags,
                    "tagSpecifications": [{"resourceType": "instance", "tags": lt_tags}]},
         "outputs": {"imageId": fleet["image"], "instanceType": "t3.medium", "name": "node-template",
                     "latestVersion": 1, "tags": lt_tags, "tagsAll": lt_tags,
                     "tagSpecifications": [{"resourceType": "instance", "tags": lt_tags}]}},
        {"urn": urn("aws:autoscaling/group:Group", "node-asg"), "custom": True, "type": "aws:autoscaling/group:Group",
         "id": fleet["group"],
         "inputs": {"minSize": 2, "maxSize": 4, "vpcZoneIdentifiers": [fleet["subnet"]], "tags": asg_tags,
                    "launchTemplate": {"id": fleet["template"], "version": "1"}},
         "outputs": {"name": fleet["group"], "minSize": 2, "maxSize": 4, "desiredCapacity": 2,
                     "vpcZoneIdentifiers": [fleet["subnet"]], "tags": asg_tags,
                     "launchTemplate": {"id": fleet["template"], "name": "node-template", "version": "1"}},
         "propertyDependencies": {"launchTemplate": [lt_urn]}},
        *(extra or []),
    ]
    return {"version": 3, "deployment": {"manifest": {"time": "1970-01-01T00:00:00Z", "magic": "", "version": "test"},
                                         "resources": resources}}


def check(fleet, doc: dict) -> findings.Report:
    report = findings.Report(stack=f"{PROJECT}/{STACK}", region=REGION)
    instances.check_fleets(connect(REGION, None, fleet["url"]), parse(doc), report)
    return report


def pairs(report: findings.Report) -> list[tuple[str, str]]:
    return [(f.check, f.resource) for f in report.findings]


GROUP_LABEL = "node-asg-1234 (node-asg)"


def test_compliant_fleet_has_no_finding(fleet):
    report = check(fleet, export(fleet))
    assert report.findings == [] and report.notes == []


def test_compliant_fleet_end_to_end(fleet, tmp_path):
    """The whole `verify` on a minimal state: the other checks have nothing to read in it."""
    path, out = tmp_path / "state.json", tmp_path / "report.json"
    path.write_text(json.dumps(export(fleet)), encoding="utf-8")
    args = ["verify", "--state", str(path), "--endpoint-url", fleet["url"], "--no-policy-pack", "--json", str(out)]
    assert main(args) == 0
    report = json.loads(out.read_text())
    assert report["findings"] == [] and "workloads" in report["checks"]
    aws(fleet["url"], "autoscaling").update_auto_scaling_group(AutoScalingGroupName=fleet["group"], MinSize=0,
                                                               DesiredCapacity=0)
    assert main(args) == 1
    report = json.loads(out.read_text())
    assert [(f["check"], f["resource"]) for f in report["findings"]] == [("ec2-drift", GROUP_LABEL)]


def test_group_scaled_to_zero(fleet):
    aws(fleet["url"], "autoscaling").update_auto_scaling_group(AutoScalingGroupName=fleet["group"], MinSize=0,
                                                               DesiredCapacity=0)
    report = check(fleet, export(fleet))
    assert pairs(report) == [("ec2-drift", GROUP_LABEL)]
    evidence = report.findings[0].evidence
    assert "node-asg-1234 was scaled down" in evidence and "DesiredCapacity is 0" in evidence and "minSize is 2" in evidence


def test_group_scaled_below_min_size(fleet):
    aws(fleet["url"], "autoscaling").update_auto_scaling_group(AutoScalingGroupName=fleet["group"], MinSize=1,
                                                               DesiredCapacity=1)
    report = check(fleet, export(fleet))
    assert pairs(report) == [("ec2-drift", GROUP_LABEL)]
    assert "DesiredCapacity is 1" in report.findings[0].evidence


def test_group_deleted(fleet):
    aws(fleet["url"], "autoscaling").delete_auto_scaling_group(AutoScalingGroupName=fleet["group"], ForceDelete=True)
    report = check(fleet, export(fleet))
    assert pairs(report) == [("ec2-drift", GROUP_LABEL)]
    assert "not in the account" in report.findings[0].evidence


def test_a_group_of_another_layer_is_not_read(fleet):
    aws(fleet["url"], "autoscaling").update_auto_scaling_group(AutoScalingGroupName=fleet["group"], MinSize=0,
                                                               DesiredCapacity=0)
    doc = export(fleet, layer="app")  # nothing labels it node: neither its tags nor its template's
    report = check(fleet, doc)
    assert report.findings == [] and report.notes == []


def test_instance_of_another_image_in_the_group(fleet):
    """An instance launched from another image and attached to the group: named by the id check,
    and its image (another name in the same account) is not the declared one."""
    ec2 = aws(fleet["url"], "ec2")
    other = ec2.register_image(Name="debian-12-amd64", RootDeviceName="/dev/xvda")["ImageId"]
    rogue = ec2.run_instances(ImageId=other, MinCount=1, MaxCount=1, SubnetId=fleet["subnet"])["Instances"][0]["InstanceId"]
    aws(fleet["url"], "autoscaling").attach_instances(AutoScalingGroupName=fleet["group"], InstanceIds=[rogue])
    report = check(fleet, export(fleet))
    assert sorted(pairs(report)) == sorted([("ec2-drift", f"{rogue} (an instance of {GROUP_LABEL})"),
                                            ("node-image", GROUP_LABEL)])
    drift = next(f for f in report.findings if f.check == "ec2-drift")
    assert f"{rogue} runs {other}" in drift.evidence and fleet["image"] in drift.evidence
    image = next(f for f in report.findings if f.check == "node-image")
    assert f"the node runs {other} (debian-12-amd64, owner {fleet['owner']}), not the declared Wallarm image" \
        in image.evidence and "name differ" in image.evidence and rogue in image.evidence


def test_group_moved_to_a_template_version_of_another_image(fleet):
    ec2 = aws(fleet["url"], "ec2")
    other = ec2.register_image(Name=IMAGE_NAME.replace("6-2", "5-0"), RootDeviceName="/dev/xvda")["ImageId"]
    ec2.create_launch_template_version(LaunchTemplateId=fleet["template"], SourceVersion="1",
                                       LaunchTemplateData={"ImageId": other})
    aws(fleet["url"], "autoscaling").update_auto_scaling_group(
        AutoScalingGroupName=fleet["group"], LaunchTemplate={"LaunchTemplateId": fleet["template"], "Version": "2"})
    report = check(fleet, export(fleet))
    drift = [f for f in report.findings if f.check == "ec2-drift"]
    assert [f.resource for f in drift] == [GROUP_LABEL]
    assert f"launch template {fleet['template']} version 2 launches {other}" in drift[0].evidence
    assert [f.resource for f in report.findings if f.check == "node-image"] == [GROUP_LABEL]


@pytest.mark.parametrize(("declared", "differs"), [
    ({"owner": "679593333241"}, "owner differ"),
    ({"name": "wallarm-node-6-2-20251201"}, "name differ"),
])
def test_declared_owner_or_name_differs_from_the_image(fleet, declared, differs):
    report = check(fleet, export(fleet, **declared))
    assert pairs(report) == [("node-image", GROUP_LABEL)]
    evidence = report.findings[0].evidence
    assert f"the node runs {fleet['image']} ({IMAGE_NAME}, owner {fleet['owner']}), not the declared Wallarm image" \
        in evidence and differs in evidence and next(iter(declared.values())) in evidence
    for inst in fleet["instances"]:
        assert inst in evidence


def test_deregistered_image_is_a_note(fleet):
    aws(fleet["url"], "ec2").deregister_image(ImageId=fleet["image"])
    report = check(fleet, export(fleet))
    assert report.findings == []
    notes = [(n.check, n.resource) for n in report.notes]
    assert notes == [("node-image", GROUP_LABEL)]
    assert all(fleet["image"] in n.message and "no longer describes" in n.message for n in report.notes)


def test_without_declaration_only_the_id_is_compared(fleet):
    ec2 = aws(fleet["url"], "ec2")
    assert check(fleet, export(fleet, declare=False, name="x")).findings == []
    other = ec2.register_image(Name="debian-12-amd64", RootDeviceName="/dev/xvda")["ImageId"]
    rogue = ec2.run_instances(ImageId=other, MinCount=1, MaxCount=1, SubnetId=fleet["subnet"])["Instances"][0]["InstanceId"]
    aws(fleet["url"], "autoscaling").attach_instances(AutoScalingGroupName=fleet["group"], InstanceIds=[rogue])
    report = check(fleet, export(fleet, declare=False))
    assert pairs(report) == [("ec2-drift", f"{rogue} (an instance of {GROUP_LABEL})")]


# --- in service below minSize: a recorded DescribeAutoScalingGroups answer ---------------------------


class _RecordedAutoscaling:
    def __init__(self, group: dict) -> None:
        self.group = group

    def describe_auto_scaling_groups(self, AutoScalingGroupNames):
        return {"AutoScalingGroups": [self.group] if self.group["AutoScalingGroupName"] in AutoScalingGroupNames else []}


class _Account:
    """moto for EC2, the recorded answer for Auto Scaling."""

    def __init__(self, url: str, autoscaling) -> None:
        self.live = connect(REGION, None, url)
        self.autoscaling = autoscaling

    def client(self, service: str, region: str | None = None):
        return self.autoscaling if service == "autoscaling" else self.live.client(service, region)


def test_instances_not_in_service_below_min_size(fleet):
    """Desired 2, one instance Pending and one Terminating (replacements failing their health
    checks): moto cannot hold a group there (see the module docstring)."""
    first, second = fleet["instances"]
    spec = {"LaunchTemplateId": fleet["template"], "LaunchTemplateName": "node-template", "Version": "1"}
    recorded = {
        "AutoScalingGroupName": fleet["group"], "MinSize": 2, "MaxSize": 4, "DesiredCapacity": 2,
        "LaunchTemplate": spec, "DefaultCooldown": 300, "AvailabilityZones": [f"{REGION}a"],
        "HealthCheckType": "ELB", "HealthCheckGracePeriod": 300, "VPCZoneIdentifier": fleet["subnet"],
        "Instances": [
            {"InstanceId": first, "InstanceType": "t3.medium", "AvailabilityZone": f"{REGION}a",
             "LifecycleState": "Pending", "HealthStatus": "Healthy", "LaunchTemplate": spec,
             "ProtectedFromScaleIn": False},
            {"InstanceId": second, "InstanceType": "t3.medium", "AvailabilityZone": f"{REGION}a",
             "LifecycleState": "Terminating", "HealthStatus": "Unhealthy", "LaunchTemplate": spec,
             "ProtectedFromScaleIn": False}]}
    report = findings.Report(stack=f"{PROJECT}/{STACK}", region=REGION)
    instances.check_fleets(_Account(fleet["url"], _RecordedAutoscaling(recorded)), parse(export(fleet)), report)
    assert pairs(report) == [("ec2-drift", GROUP_LABEL)]
    assert "0 instance(s) InService" in report.findings[0].evidence and f"{first} Pending" in report.findings[0].evidence
    for i in recorded["Instances"]:
        i["LifecycleState"] = "InService"
    report = findings.Report(stack=f"{PROJECT}/{STACK}", region=REGION)
    instances.check_fleets(_Account(fleet["url"], _RecordedAutoscaling(recorded)), parse(export(fleet)), report)
    assert report.findings == []


# --- a plain instance labelled node by its launch template -----------------------------------------


def _instance(fleet, inst_id: str, ami: str) -> dict:
    lt_urn = urn("aws:ec2/launchTemplate:LaunchTemplate", "node-template")
    return {"urn": urn("aws:ec2/instance:Instance", "node-vm"), "custom": True, "type": "aws:ec2/instance:Instance",
            "id": inst_id, "inputs": {"launchTemplate": {"id": fleet["template"]}},
            "outputs": {"ami": ami, "launchTemplate": {"id": fleet["template"], "name": "node-template", "version": "1"},
                        "tags": {}, "tagsAll": {}},
            "propertyDependencies": {"launchTemplate": [lt_urn]}}


def test_node_instance_from_its_template(fleet):
    ec2 = aws(fleet["url"], "ec2")
    inst = ec2.run_instances(LaunchTemplate={"LaunchTemplateId": fleet["template"]}, MinCount=1, MaxCount=1,
                             SubnetId=fleet["subnet"])["Instances"][0]["InstanceId"]
    doc = export(fleet, extra=[_instance(fleet, inst, fleet["image"])])
    assert parse(doc).by_id()[inst].layer == "node"
    report = check(fleet, doc)
    assert report.findings == [] and report.notes == []
    # the declaration (on the template) names another owner
    report = check(fleet, export(fleet, owner="679593333241", extra=[_instance(fleet, inst, fleet["image"])]))
    assert sorted(pairs(report)) == sorted([("node-image", GROUP_LABEL), ("node-image", f"{inst} (node-vm)")])
    # stopped: no node filters there
    ec2.stop_instances(InstanceIds=[inst])
    report = check(fleet, doc)
    assert pairs(report) == [("ec2-drift", f"{inst} (node-vm)")] and "stopped" in report.findings[0].evidence


def test_node_instance_of_another_image_or_gone(fleet):
    ec2 = aws(fleet["url"], "ec2")
    other = ec2.register_image(Name="debian-12-amd64", RootDeviceName="/dev/xvda")["ImageId"]
    inst = ec2.run_instances(ImageId=other, MinCount=1, MaxCount=1, SubnetId=fleet["subnet"])["Instances"][0]["InstanceId"]
    report = check(fleet, export(fleet, extra=[_instance(fleet, inst, fleet["image"])]))
    assert sorted(pairs(report)) == sorted([("ec2-drift", f"{inst} (node-vm)"), ("node-image", f"{inst} (node-vm)")])
    assert f"{inst} runs {other}" in next(f for f in report.findings if f.check == "ec2-drift").evidence
    ec2.terminate_instances(InstanceIds=[inst])
    report = check(fleet, export(fleet, extra=[_instance(fleet, inst, other)]))
    assert pairs(report) == [("ec2-drift", f"{inst} (node-vm)")] and "terminated" in report.findings[0].evidence
    report = check(fleet, export(fleet, extra=[_instance(fleet, "i-0123456789abcdef0", other)]))
    assert pairs(report) == [("ec2-drift", "i-0123456789abcdef0 (node-vm)")]
    assert "not in the account" in report.findings[0].evidence


# --- the program's own EC2 fleet (examples/ec2-fleet.yaml), as its export has it ---------------------


@pytest.fixture(scope="module")
def ec2_export():
    from conftest import REPO

    from layerguard.engine import preview
    from layerguard.verify import from_preview
    result = preview(REPO, "dev", "update", policy_pack=None, config_file=REPO / "examples" / "ec2-fleet.yaml")
    assert result.exit_code == 0, result.error
    return from_preview(result)


def test_the_programs_fleet_state(moto_url, ec2_export):
    """The state of components/node_fleet_ec2.py (layer from its component, the declaration on the
    launch template, the group's `launchTemplate` spec), its ids rewritten to moto's. moto registers
    images in its own account only, so the program's declared owner (AWS Marketplace, 679593333241)
    is reported until the declaration names moto's account."""
    from _seed import rewrite
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).read()
    st = parse(ec2_export)
    lt = next(r for r in st.of(instances.LAUNCH_TEMPLATE) if r.name == "node-template")
    group = next(r for r in st.of(instances.ASG) if r.name == "node-asg")
    declared = instances._declared(lt)
    assert group.layer == "node" and declared.owner == "679593333241" and declared.name.startswith("wallarm-node-7-1-")
    ec2, autoscaling = aws(moto_url, "ec2"), aws(moto_url, "autoscaling")
    image = ec2.register_image(Name=declared.name, RootDeviceName="/dev/xvda")["ImageId"]
    vpc = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.41.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    template = ec2.create_launch_template(LaunchTemplateName=lt.get("name") or "node-template",
                                          LaunchTemplateData={"ImageId": image})["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling.create_auto_scaling_group(AutoScalingGroupName=group.id, MinSize=int(group.get("minSize")), MaxSize=2,
                                          VPCZoneIdentifier=subnet,
                                          LaunchTemplate={"LaunchTemplateId": template, "Version": "1"})
    doc = rewrite(ec2_export, {lt.id: template, declared.image: image})
    account = connect(REGION, None, moto_url)
    report = findings.Report(stack="layerguard/dev", region=REGION)
    instances.check_fleets(account, parse(doc), report)
    label = f"{group.id} (node-asg)"
    assert pairs(report) == [("node-image", label)] and report.notes == []
    assert "owner differ" in report.findings[0].evidence and "679593333241" in report.findings[0].evidence
    owner = aws(moto_url, "sts").get_caller_identity()["Account"]
    report = findings.Report(stack="layerguard/dev", region=REGION)
    instances.check_fleets(account, parse(rewrite(doc, {"679593333241": owner})), report)
    assert report.findings == [] and report.notes == []
