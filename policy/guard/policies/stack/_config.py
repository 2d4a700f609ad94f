"""Config shared by the stack policies that read the reachability model (every one of them takes
the same keys, so each builds the same model whichever is configured)."""

from guard.reachability.model import (
    DEFAULT_NODE_AMI_OWNERS,
    DEFAULT_NODE_MAJORS,
    DEFAULT_NODE_REPOSITORIES,
    node_rules_from,
)

PREFIX_LIST_CONFIG = {
    "cloudfrontPrefixListIds": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "Ids of the CloudFront origin-facing managed prefix list in your regions "
                       "(pl-3b927c52, the us-east-1 id, is always known).",
    },
}

NODE_CONFIG = {
    "nodeImageRepositories": {
        "type": "array", "items": {"type": "string"}, "default": list(DEFAULT_NODE_REPOSITORIES),
        "description": "Image repositories a proven Wallarm node may run (`*` matches one path "
                       "segment: an ECR account, region or pull-through cache prefix).",
    },
    "nodeImageMajors": {
        "type": "array", "items": {"type": "integer"}, "default": list(DEFAULT_NODE_MAJORS),
        "description": "Supported Wallarm node major releases; the image tag must be a release "
                       "(e.g. 7.1.0) of one of them.",
    },
    "nodeAmiIds": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "AMI ids you have checked are Wallarm node images: an EC2 node launched from one "
                       "is proven to run the node without further evidence.",
    },
    "nodeAmiOwners": {
        "type": "array", "items": {"type": "string"}, "default": list(DEFAULT_NODE_AMI_OWNERS),
        "description": "Accounts that publish Wallarm's node AMIs (AWS Marketplace: 679593333241); an EC2 "
                       "node's declared AMI lookup must name one, and its user data must run Wallarm's cloud-init.",
    },
}

MODEL_CONFIG = {**PREFIX_LIST_CONFIG, **NODE_CONFIG}


def model_args(cfg: dict) -> tuple:
    """(cloudfront prefix list ids, node rules) for `model_for`."""
    return cfg.get("cloudfrontPrefixListIds") or (), node_rules_from(cfg)
