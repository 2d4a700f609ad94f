"""Wallarm nodes on EC2, live: the node Auto Scaling groups and node instances of the state, how many
nodes run, and which image they run.

The EC2 node fleet (components/node_fleet_ec2.py) is an Auto Scaling group over a launch template
whose `imageId` is Wallarm's AMI and whose tags `layerguard:node-ami-name` and
`layerguard:node-ami-owner` record the image the program looked up (`aws.ec2.get_ami`). The policy
pack cannot look an AMI up, so at preview it trusts that declaration (with the user data that runs
Wallarm's set-up); this is where the image that runs is compared with it:

* `ec2-drift`: the group is gone, asks for (DesiredCapacity) or has in service fewer instances than
  the state's `minSize`; the group launches from another launch template than the state's, or from
  a version whose ImageId is not the state's `imageId`; an instance of the group (or a node
  instance of the state) runs another ImageId than the state declares, is gone or is not running.
* `node-image`: DescribeImages of an image a node runs (or its launch template version launches)
  gives an owner or a name other than the declared ones. Without declaration tags only the id is
  compared. An image AWS no longer describes (deregistered) cannot be compared: a note says so.

Hand-written stacks may run nodes as plain `aws.ec2.Instance` (or spot instance requests) labelled
`node` by their tags or by their launch template's; the same checks apply to them (the instance's
`ami`, else its template's `imageId`; the declaration on the instance, else on its template).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from ..engine import LAYER_TAG
from .findings import Report
from .live import error_code, number
from .state import State, StateResource, tag_map, tags_of

ASG = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
SPOT_INSTANCE = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
# The tags the program's AMI lookup is declared in (components/node_fleet_ec2.py, and the pack's
# policy/guard/reachability/compute.py).
AMI_NAME_TAG = "layerguard:node-ami-name"
AMI_OWNER_TAG = "layerguard:node-ami-owner"

_TEMPLATE_MISSING = ("InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateName.NotFoundException",
                     "InvalidLaunchTemplateId.VersionNotFound", "InvalidLaunchTemplateId.Malformed",
                     "InvalidLaunchTemplateName.MalformedException")
_INSTANCE_MISSING = ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed")
_IMAGE_MISSING = ("InvalidAMIID.NotFound", "InvalidAMIID.Unavailable", "InvalidAMIID.Malformed")
_GONE_STATES = ("shutting-down", "terminated")


@dataclass(frozen=True)
class Declared:
    """What the state says a node boots: the image id, and the AMI lookup its tags declare."""
    image: str | None
    name: str | None
    owner: str | None
    where: str                      # the resource whose tags declare it, for the evidence

    @property
    def has_lookup(self) -> bool:
        return bool(self.name or self.owner)

    def describe(self) -> str:
        parts = [f"name {self.name}" if self.name else "", f"owner {self.owner}" if self.owner else ""]
        return f"{', '.join(p for p in parts if p)} (tags of {self.where})"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _template_tags(lt: StateResource) -> dict[str, Any]:
    """A launch template's tags and its `instance` tag specification's (what the pack reads)."""
    tags = dict(tags_of(lt))
    for spec in lt.get("tagSpecifications") or []:
        if isinstance(spec, dict) and spec.get("resourceType") == "instance":
            tags.update(tag_map(spec.get("tags")))
    return tags


def _declared(lt: StateResource | None, own: dict[str, Any] | None = None, image: Any = None,
              where: str | None = None) -> Declared:
    tags = _template_tags(lt) if lt is not None else {}
    if own is not None:
        tags = {**tags, **own}
    return Declared(_str(image) if image is not None else (_str(lt.get("imageId")) if lt is not None else None),
                    _str(tags.get(AMI_NAME_TAG)), _str(tags.get(AMI_OWNER_TAG)),
                    where or (lt.name if lt is not None else "?"))


class _Templates:
    """The state's launch templates by id and by name."""

    def __init__(self, state: State) -> None:
        self.by_key: dict[str, StateResource] = {}
        self.by_urn = {lt.urn: lt for lt in state.of(LAUNCH_TEMPLATE)}
        for lt in self.by_urn.values():
            for key in (lt.id, lt.get("name"), lt.get("arn")):
                if isinstance(key, str) and key:
                    self.by_key[key] = lt

    def find(self, spec: Any) -> StateResource | None:
        if not isinstance(spec, dict):
            return None
        for key in ("id", "launchTemplateId", "LaunchTemplateId", "name", "launchTemplateName", "LaunchTemplateName"):
            value = spec.get(key)
            if isinstance(value, str) and value in self.by_key:
                return self.by_key[value]
        return None

    def of(self, res: StateResource) -> list[StateResource]:
        """The launch templates a group or an instance of the state names (its specs, else its
        property dependencies)."""
        found = [lt for lt in (self.find(s) for s in _specs(res, _STATE_KEYS)) if lt is not None]
        for prop in ("launchTemplate", "mixedInstancesPolicy"):
            found += [self.by_urn[u] for u in res.property_dependencies.get(prop, []) if u in self.by_urn]
        out: list[StateResource] = []
        for lt in found:
            if lt not in out:
                out.append(lt)
        return out


# The keys of a launch template specification's places, as the state spells them and as
# DescribeAutoScalingGroups does: the group's own, its mixed-instances policy's, each override's.
_STATE_KEYS = ("launchTemplate", "mixedInstancesPolicy", "launchTemplate", "launchTemplateSpecification", "overrides")
_LIVE_KEYS = ("LaunchTemplate", "MixedInstancesPolicy", "LaunchTemplate", "LaunchTemplateSpecification", "Overrides")


def _specs(group: Any, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every launch template specification of a group (or an instance), in the state's or the API's
    spelling (`keys`)."""
    own, mixed_key, template_key, spec_key, overrides_key = keys
    specs = []
    if isinstance(group.get(own), dict) and group.get(own):
        specs.append(group.get(own))
    mixed = group.get(mixed_key)
    lt = mixed.get(template_key) if isinstance(mixed, dict) else None
    if isinstance(lt, dict):
        if isinstance(lt.get(spec_key), dict) and lt[spec_key]:
            specs.append(lt[spec_key])
        for override in lt.get(overrides_key) or []:
            if isinstance(override, dict) and isinstance(override.get(spec_key), dict) and override[spec_key]:
                specs.append(override[spec_key])
    return specs


def _is_node(res: StateResource, templates: list[StateResource]) -> bool:
    if res.layer == "node":  # its own tag first (state.py `_assign_layers`)
        return True
    return any(_template_tags(lt).get(LAYER_TAG) == "node" for lt in templates)


class _Images:
    """DescribeImages, one image at a time (one unknown id fails a whole call), cached; and what
    runs each image, gathered so that each (node, image, declaration) is one finding or note."""

    def __init__(self, ec2) -> None:
        self.ec2 = ec2
        self.cache: dict[str, dict[str, Any] | None] = {}
        self.runs: dict[tuple[str, str, Declared], list[str]] = {}

    def get(self, image: str) -> dict[str, Any] | None:
        if image not in self.cache:
            try:
                found = self.ec2.describe_images(ImageIds=[image]).get("Images") or []
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) not in _IMAGE_MISSING:
                    raise
                found = []
            self.cache[image] = next((i for i in found if i.get("ImageId") == image), None)
        return self.cache[image]

    def run_by(self, label: str, image: str, declared: Declared, who: str) -> None:
        """`who` (an instance, a template version) of the node `label` runs or launches `image`."""
        if declared.has_lookup:
            whom = self.runs.setdefault((label, image, declared), [])
            if who not in whom:
                whom.append(who)

    def compare(self, report: Report) -> None:
        """Each image against the declared lookup: owner and name."""
        for (label, image, declared), whom in self.runs.items():
            who = ", ".join(whom)
            live = self.get(image)
            if live is None:
                report.note("node-image", label, f"{image} (run by {who}) is an image AWS no longer describes "
                                                 f"(deregistered, or not shared with this account): its owner and "
                                                 f"name cannot be compared with the declared {declared.describe()}")
                continue
            name, owner = live.get("Name"), live.get("OwnerId")
            wrong = [what for what, want, got in (("owner", declared.owner, owner), ("name", declared.name, name))
                     if want is not None and want != got]
            if wrong:
                report.add("node-image", label,
                           f"the node runs {image} ({name or 'no name'}, owner {owner or 'unknown'}), not the declared "
                           f"Wallarm image: its {' and '.join(wrong)} differ from the declared {declared.describe()}; "
                           f"run by {who}")
            elif live.get("State") not in (None, "available"):
                report.note("node-image", label, f"{image} (run by {who}) is in state {live.get('State')}")
        self.runs.clear()


def check_fleets(account, state: State, report: Report) -> None:
    """Every node-layer Auto Scaling group and node-layer instance of the state, live."""
    templates = _Templates(state)
    groups = [(g, templates.of(g)) for g in state.of(ASG)]
    groups = [(g, lts) for g, lts in groups if _is_node(g, lts)]
    instances = [(i, templates.of(i)) for i in state.of(INSTANCE, SPOT_INSTANCE)]
    instances = [(i, lts) for i, lts in instances if _is_node(i, lts)]
    if not groups and not instances:
        return
    ec2 = account.client("ec2")
    images = _Images(ec2)
    if groups:
        autoscaling = account.client("autoscaling")
        for group, lts in groups:
            _check_group(autoscaling, ec2, images, report, group, lts)
    for inst, lts in instances:
        _check_instance(ec2, images, report, inst, lts)
    images.compare(report)


def _describe_instances(ec2, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The instances AWS still describes, by id (one that went away meanwhile is left out)."""
    out: dict[str, dict[str, Any]] = {}
    if not ids:
        return out
    try:
        reservations = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) not in _INSTANCE_MISSING or len(ids) == 1:
            if error_code(exc) in _INSTANCE_MISSING:
                return out
            raise
        for one in ids:
            out.update(_describe_instances(ec2, [one]))
        return out
    for reservation in reservations:
        for inst in reservation.get("Instances") or []:
            out[inst["InstanceId"]] = inst
    return out


def _check_group(autoscaling, ec2, images: _Images, report: Report, group: StateResource,
                 lts: list[StateResource]) -> None:
    name = group.get("name") or group.id
    label = f"{name} ({group.name})"
    if not isinstance(name, str) or not name:
        report.note("ec2-drift", group.urn, "the Auto Scaling group has no name in the state")
        return
    found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name]).get("AutoScalingGroups") or []
    live = next((g for g in found if g.get("AutoScalingGroupName") == name and g.get("Status") != "Delete in progress"),
                None)
    if live is None:
        report.add("ec2-drift", label, "the node Auto Scaling group is in the state but not in the account: "
                                       "no node filters")
        return
    declared_min, declared_desired = number(group.get("minSize")), number(group.get("desiredCapacity"))
    floor = max(declared_min or 0, 1 if (declared_desired or 0) > 0 else 0)
    desired = number(live.get("DesiredCapacity")) or 0
    members = [i for i in live.get("Instances") or [] if i.get("LifecycleState") not in ("Terminated",)]
    in_service = [i for i in members if i.get("LifecycleState") == "InService"]
    if desired < floor:
        report.add("ec2-drift", label, f"the node group {name} was scaled down: DesiredCapacity is {desired}, the "
                                       f"state's minSize is {declared_min} (live MinSize {live.get('MinSize')}): "
                                       f"fewer nodes than deployed{' (none filters)' if desired == 0 else ''}")
    elif len(in_service) < floor:
        states = ", ".join(f"{i.get('InstanceId')} {i.get('LifecycleState')}" for i in members) or "no instance"
        report.add("ec2-drift", label, f"the node group {name} has {len(in_service)} instance(s) InService, the "
                                       f"state's minSize is {declared_min} ({states})")

    declared = {lt.urn: _declared(lt) for lt in lts}
    if not lts:
        report.note("ec2-drift", label, "the group's launch template is not in the state: the image it runs is "
                                        "not compared")
        return
    primary = declared[lts[0].urn]
    wanted = {d.image for d in declared.values() if d.image}
    templates = {lt.id: lt for lt in lts if lt.id}

    # What the group launches now: the live template version(s) its spec names.
    for spec in _specs(live, _LIVE_KEYS):
        lt_id, version = spec.get("LaunchTemplateId"), spec.get("Version") or "$Default"
        lt_name = spec.get("LaunchTemplateName")
        state_lt = templates.get(lt_id) or next((lt for lt in lts if lt_name and lt.get("name") == lt_name), None)
        where = f"launch template {lt_id or lt_name} version {version}"
        if state_lt is None:
            report.add("ec2-drift", label, f"the group launches from {where}, which is not the state's "
                                           f"({', '.join(f'{lt.id} ({lt.name})' for lt in lts)})")
        try:
            key = {"LaunchTemplateId": lt_id} if lt_id else {"LaunchTemplateName": lt_name}
            versions = ec2.describe_launch_template_versions(Versions=[str(version)], **key)["LaunchTemplateVersions"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in _TEMPLATE_MISSING:
                raise
            report.note("ec2-drift", label, f"{where} cannot be read ({error_code(exc)}): the image the group launches "
                                            "is not compared")
            continue
        image = next((v.get("LaunchTemplateData", {}).get("ImageId") for v in versions), None)
        decl = declared[state_lt.urn] if state_lt is not None else primary
        if not image:
            report.note("ec2-drift", label, f"{where} names no image")
            continue
        if image not in wanted:
            report.add("ec2-drift", label, f"{where} launches {image}; the state's launch template "
                                           f"{decl.where} declares {decl.image}")
        images.run_by(label, image, decl, f"{where} (what the group launches)")

    # What runs: each instance of the group.
    described = _describe_instances(ec2, [i["InstanceId"] for i in members if i.get("InstanceId")])
    for member in members:
        inst_id = member.get("InstanceId")
        inst = described.get(inst_id)
        if inst is None or (inst.get("State") or {}).get("Name") in _GONE_STATES:
            continue
        spec = member.get("LaunchTemplate") or {}
        state_lt = templates.get(spec.get("LaunchTemplateId"))
        decl = declared[state_lt.urn] if state_lt is not None else primary
        image = inst.get("ImageId")
        if not image:
            continue
        if image not in wanted:
            report.add("ec2-drift", f"{inst_id} (an instance of {label})",
                       f"the node instance {inst_id} runs {image}; the state's launch template {decl.where} "
                       f"declares {decl.image}")
        images.run_by(label, image, decl, f"instance {inst_id}")


def _check_instance(ec2, images: _Images, report: Report, res: StateResource, lts: list[StateResource]) -> None:
    inst_id = res.get("spotInstanceId") if res.type == SPOT_INSTANCE else res.id
    label = f"{inst_id or res.id} ({res.name})"
    if not isinstance(inst_id, str) or not inst_id.startswith("i-"):
        report.note("ec2-drift", res.urn, "the node instance has no instance id in the state")
        return
    inst = _describe_instances(ec2, [inst_id]).get(inst_id)
    status = (inst.get("State") or {}).get("Name") if inst else None
    if inst is None or status in _GONE_STATES:
        report.add("ec2-drift", label, f"the node instance is in the state but {status or 'not in the account'}: "
                                       "it filters nothing")
        return
    if status not in ("running", "pending"):
        report.add("ec2-drift", label, f"the node instance is {status}: it filters nothing")
    lt = lts[0] if lts else None
    own_image = _str(res.get("ami"))
    template_image = _str(lt.get("imageId")) if lt is not None else None
    own_tags = tag_map(res.inputs.get("tags")) or tags_of(res)
    if own_image and template_image and own_image != template_image:
        # Another image than the template's: the template's declaration is not this image's.
        decl = _declared(None, own_tags, own_image, res.name)
    else:
        where = res.name if _has_lookup(own_tags) or lt is None else lt.name
        decl = _declared(lt, own_tags, own_image or template_image, where)
    image = inst.get("ImageId")
    if not image:
        return
    if decl.image and image != decl.image:
        report.add("ec2-drift", label, f"the node instance {inst_id} runs {image}; the state declares {decl.image}")
    images.run_by(label, image, decl, f"instance {inst_id}")


def _has_lookup(tags: dict[str, Any]) -> bool:
    return AMI_NAME_TAG in tags or AMI_OWNER_TAG in tags
