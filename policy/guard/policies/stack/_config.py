"""Config shared by the stack policies that read the reachability model."""

PREFIX_LIST_CONFIG = {
    "cloudfrontPrefixListIds": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "Ids of the CloudFront origin-facing managed prefix list in your regions "
                       "(pl-3b927c52, the us-east-1 id, is always known).",
    },
}
