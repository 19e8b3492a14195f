"""The regions the emulator knows (KMS and RDS DescribeRegions)."""

REGIONS: tuple[str, ...] = (
    "cn-hangzhou",
    "cn-shanghai",
    "cn-beijing",
    "cn-shenzhen",
    "cn-zhangjiakou",
    "cn-hongkong",
    "ap-southeast-1",
    "ap-northeast-1",
    "eu-central-1",
    "us-west-1",
    "us-east-1",
)
