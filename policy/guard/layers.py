"""One layer identity for the whole pack: which layer (`network`, `edge`, `node`, `app`) a
resource belongs to, read the way AWS applies tags.

`layer_of(res, stack)` is the only decision; `Stack.layer(res)` caches it per stack, resource
policies call it without a stack (`layer_hint`), and the advisory `report-layers` policy hands the
same answer to the offline engine's report. In order:

1. An `aws:ec2/tag:Tag` resource that tags the resource (linked by a property dependency on
   `resourceId`) with our key: it is applied after the resource is created, so it wins.
2. The resource's label (`Resource.tag_layer`): its own `tags`, else its `tagsAll` when known,
   else its provider's `defaultTags.tags` (AWS: resource tags override default tags; default tags
   reach every taggable resource of the provider). Key and value are compared case-insensitively
   (`LayerGuard:Layer = App` is `app`). Labels that disagree at one level give `app` when one of
   them says `app` (it could be app, so it is protected and never a node), else unclassified.
3. An untagged attachment (`ATTACH_PROPS`: rules, listeners, associations, ...) takes the layer of
   what it attaches to, through property dependencies. Attachment never makes an untagged compute
   resource (a service, an instance) a node: trust comes from a label or our component.
4. The nearest `layerguard:<layer>:<Name>` component (the resource itself, then its ancestors).
5. Otherwise `unclassified`, which every policy treats as untrusted.

A label that is unknown at preview stops at step 2 without a layer from attachment (the model
reports it); resource policies have no stack, so they skip steps 1 and 3.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from guard.values import Unknown, is_unknown

LAYER_TAG = "layerguard:layer"
LAYERS = ("network", "edge", "node", "app")
UNCLASSIFIED = "unclassified"
EC2_TAG = "aws:ec2/tag:Tag"
_CONFLICT = object()

# Untagged attachment resources take the layer of the resource named by these properties.
ATTACH_PROPS: dict[str, tuple[str, ...]] = {
    "aws:ec2/securityGroupRule:SecurityGroupRule": ("securityGroupId",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("securityGroupId",),
    "aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment":
        ("networkInterfaceId",),
    "aws:lb/listener:Listener": ("loadBalancerArn",),
    "aws:alb/listener:Listener": ("loadBalancerArn",),
    "aws:lb/listenerRule:ListenerRule": ("listenerArn",),
    "aws:alb/listenerRule:ListenerRule": ("listenerArn",),
    "aws:lb/listenerCertificate:ListenerCertificate": ("listenerArn",),
    "aws:alb/listenerCertificate:ListenerCertificate": ("listenerArn",),
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": ("targetGroupArn",),
    "aws:alb/targetGroupAttachment:TargetGroupAttachment": ("targetGroupArn",),
    "aws:autoscaling/attachment:Attachment": ("autoscalingGroupName",),
    "aws:wafv2/webAclAssociation:WebAclAssociation": ("resourceArn",),
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": ("resourceArn",),
    "aws:wafv2/webAclRule:WebAclRule": ("webAclArn",),
    "aws:wafv2/webAclRuleGroupAssociation:WebAclRuleGroupAssociation": ("webAclArn",),
    "aws:ec2/eipAssociation:EipAssociation": ("instanceId", "networkInterfaceId"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId",),
    "aws:ec2/route:Route": ("routeTableId",),
    "aws:apigateway/resource:Resource": ("restApi",),
    "aws:apigateway/method:Method": ("restApi",),
    "aws:apigateway/integration:Integration": ("restApi",),
    "aws:apigateway/deployment:Deployment": ("restApi",),
    "aws:apigateway/stage:Stage": ("restApi",),
    "aws:apigatewayv2/integration:Integration": ("apiId",),
    "aws:apigatewayv2/route:Route": ("apiId",),
    "aws:apigatewayv2/stage:Stage": ("apiId",),
    "aws:appautoscaling/policy:Policy": ("resourceId",),
}


def normalize(value: Any) -> Any:
    """A label value as a layer: case and surrounding blanks ignored; None when it names none."""
    if is_unknown(value):
        return value
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if value in LAYERS else None


def is_layer_key(key: Any) -> bool:
    return isinstance(key, str) and key.strip().lower() == LAYER_TAG


def _decide(values: list) -> Any:
    """One label out of several keys that differ only in case: unknown wins, then agreement."""
    for v in values:
        if is_unknown(v):
            return v
    found = {v for v in (normalize(v) for v in values) if v is not None}
    if len(found) <= 1:
        return found.pop() if found else None
    return "app" if "app" in found else _CONFLICT


def label_in(tags: Any) -> Any:
    """The layer a tag map (or an auto scaling group's tag list) names: a layer, an `Unknown`,
    `_CONFLICT`, or None when it has no valid label."""
    if is_unknown(tags):
        return tags
    if isinstance(tags, list):
        # Auto scaling groups carry their tags as a list of {key, value, propagateAtLaunch}.
        pairs = [(t.get("key"), t.get("value")) for t in tags if isinstance(t, Mapping)]
    elif isinstance(tags, Mapping):
        pairs = list(tags.items())
    else:
        return None
    for key, _ in pairs:
        if is_unknown(key):
            return key
    return _decide([v for k, v in pairs if is_layer_key(k)])


def default_tags(provider_props: Any) -> Any:
    """A provider's `defaultTags.tags` (pulumi-aws sends a provider's object inputs as JSON
    strings; config-made default providers may carry the object itself)."""
    if not isinstance(provider_props, Mapping):
        return None
    value = provider_props.get("defaultTags")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return Unknown("provider.defaultTags", "JSON", property=False)
    if is_unknown(value) or not isinstance(value, Mapping):
        return value if is_unknown(value) else None
    return value.get("tags")


def own_label(props: Mapping, provider_tags: Any, taggable: bool) -> Any:
    """The label AWS puts on a resource: its own tags, else its known `tagsAll`, else its
    provider's default tags when the resource takes tags. A layer, an `Unknown`, or None."""
    own = label_in(props.get("tags"))
    if own is None:
        everything = props.get("tagsAll")
        own = label_in(everything) if isinstance(everything, Mapping) else None
    if own is None and taggable:
        own = label_in(provider_tags)
    if own is _CONFLICT:
        return UNCLASSIFIED
    return own


def urn_type_chain(urn: str) -> list[str]:
    """The type tokens of a URN, outermost ancestor first (`urn:pulumi:s::p::A$B$C::name`)."""
    parts = urn.split("::")
    return parts[2].split("$") if len(parts) >= 4 else []


def component_layer(urn: str) -> str | None:
    """The layer of the nearest `layerguard:<layer>:<Name>` component in the URN's type chain (the
    resource itself, then its ancestors), if any."""
    for token in reversed(urn_type_chain(urn)):
        bits = token.split(":")
        if len(bits) == 3 and bits[0] == "layerguard" and bits[1] in LAYERS:
            return bits[1]
    return None


def tag_resources(stack) -> dict[str, Any]:
    """{tagged URN: label} from the stack's `aws:ec2/tag:Tag` resources that set our key."""
    out: dict[str, list] = {}
    for tag in stack.of_type(EC2_TAG):
        key = tag.props.get("key")
        if not is_unknown(key) and not is_layer_key(key):
            continue
        value = key if is_unknown(key) else tag.props.get("value")
        for target in tag.property_dependencies.get("resourceId", ()):
            out.setdefault(target, []).append(value)
    return {urn: _decide(values) for urn, values in out.items()}


def layer_of(res, stack=None, _seen: set | None = None) -> str:
    """The one layer identity (module docstring). `stack` may be None in resource policies."""
    label = None
    if stack is not None:
        label = stack.tag_labels().get(res.urn)
        if label is _CONFLICT:
            return UNCLASSIFIED
    if label is None:
        label = res.tag_layer
    if isinstance(label, str):
        return label
    if stack is not None and not is_unknown(label):
        seen = _seen or set()
        seen.add(res.urn)
        found = {stack.layer(t, seen) for t in stack.attached_to(res) if t.urn not in seen}
        found.discard(UNCLASSIFIED)
        if len(found) == 1:
            return found.pop()
    return component_layer(res.urn) or UNCLASSIFIED


def layer_hint(res) -> str:
    """`layer_of` without a stack: what a resource policy can see (label, then component)."""
    return layer_of(res, None)


# Where a stack that has not adopted the layer contract is told what to label.
CONTRACT_LINK = "README.md#layer-identity"


def adopted(stack) -> bool:
    """Whether the stack uses the layer contract at all: some resource carries a `layerguard:layer`
    label (its tags, an `aws:ec2/tag:Tag`, its provider's default tags; an unknown label counts,
    the program did set one) or sits in a `layerguard:<layer>:<Name>` component. A stack with none
    has every resource unclassified: each path it opens is then a bypass to an unclassified
    resource, and the first thing to say is why."""
    if stack.tag_labels():
        return True
    return any(res.tag_layer is not None or component_layer(res.urn) for res in stack.resources)


def not_adopted_message(stack) -> str:
    """The one finding that leads when the stack has no layer labels (see `adopted`)."""
    return (f"this stack has no `{LAYER_TAG}` labels: none of its {len(stack.resources)} resources "
            f"is labelled or inside a `layerguard:<layer>:<Name>` component, so the pack knows no "
            f"Wallarm node and no app, treats every resource as unclassified (untrusted, and "
            f"protected as if it were app) and reports each path from the internet as a bypass. "
            f"Label what you deploy with the tag `{LAYER_TAG}`: the internet entry (load balancer, "
            f"CloudFront, API Gateway) and its WAF `edge`, the Wallarm node service or instances and "
            f"their security group `node`, what the nodes protect `app`, the VPC and subnets "
            f"`network` (a provider's `default_tags` labels everything it creates). See \"Layer "
            f"identity\" in the README ({CONTRACT_LINK}). The findings that follow stay: the "
            f"verdict fails until every path is shown to pass a node.")
