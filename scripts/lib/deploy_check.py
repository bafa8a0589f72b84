#!/usr/bin/env python3
"""The deployment check's CloudFormation half (scripts/deploy-check runs it).

count DIR...      transform each root template (DIR/template.yaml) and its nested stacks with the
                  SAM translator and fail if any stack has more than 400 resources.
deploy ...        stage the real templates (built functions get their arm64 build, the others a
                  placeholder), `sam package` them to a bucket on the emulator, transform root and
                  nested stacks, check the transformed templates against the registry's manifest
                  (architecture, code, routes, queue triggers, rules, schedules), then create the
                  whole topology on the emulator and check what it made.

moto does not run the SAM transform and skips ApiGatewayV2 resources, so both are checked here on
the transformed templates; what moto does create (functions, triggers, rules) is checked on moto.
"""

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import time
from urllib.parse import urlparse

import logging

import boto3
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

LIMIT = 400
REGION = "us-east-1"
os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
logging.disable(logging.WARNING)  # the translator's metrics chatter
PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
problems = []


def fail(msg):
    problems.append(msg)
    print(f"  FAIL {msg}", file=sys.stderr)


def load(path):
    with open(path) as f:
        return yaml_parse(f.read())


class NoPolicies(ManagedPolicyLoader):
    """The generated stacks attach managed policies by reference; nothing needs a name lookup."""

    def __init__(self):
        super().__init__(None)

    def load(self):
        return {}


def sam_transform(template):
    return transform(copy.deepcopy(template), dict(PSEUDO), NoPolicies())


def count_dir(root):
    """Counts the resources of the root and of every nested stack after the transform."""
    rt = load(os.path.join(root, "template.yaml"))
    counts = {}
    for lid, res in rt["Resources"].items():
        if res["Type"] != "AWS::Serverless::Application":
            continue
        loc = res["Properties"]["Location"]
        nested = load(os.path.join(root, loc))
        nested["Globals"]["Function"]["CodeUri"] = "s3://placeholder/code.zip"
        counts[lid] = len(sam_transform(nested)["Resources"])
        res["Properties"]["Location"] = f"https://s3.amazonaws.com/placeholder/{lid}.json"
    counts["(root)"] = len(sam_transform(rt)["Resources"])
    return counts


def report_counts(label, counts):
    functions = None
    print(f"{label}: resources per stack after the SAM transform (limit {LIMIT}, CloudFormation's 500):")
    for lid, n in counts.items():
        print(f"  {lid:<24} {n:>4}  headroom {LIMIT - n}")
        if n > LIMIT:
            fail(f"{label}: {lid} has {n} resources after the transform (more than {LIMIT})")
    return functions


def ref_target(v):
    """The logical id in {'Ref': X} or {'Fn::GetAtt': [X, ...]}."""
    if isinstance(v, dict):
        if "Ref" in v:
            return v["Ref"]
        if "Fn::GetAtt" in v:
            g = v["Fn::GetAtt"]
            return g[0] if isinstance(g, list) else g.split(".")[0]
    return None


def sub_text(v):
    if isinstance(v, dict) and "Fn::Sub" in v:
        s = v["Fn::Sub"]
        return s if isinstance(s, str) else s[0]
    return v


def check_transformed(stacks, manifest):
    """Every declared function in its stack with arm64 code, its route, trigger, rule or schedule."""
    by_name = {f["name"]: f for f in manifest["functions"]}
    routes_seen = {}
    for st in manifest["stacks"]:
        t = stacks[st["logical_id"]]
        res = t["Resources"]
        of = lambda kind: {k: v for k, v in res.items() if v["Type"] == kind}
        functions = of("AWS::Lambda::Function")
        integrations = of("AWS::ApiGatewayV2::Integration")
        for name in st["functions"]:
            f = by_name[name]
            fn = functions.get(f["logical_id"])
            if fn is None:
                fail(f"{name}: no AWS::Lambda::Function {f['logical_id']} in {st['logical_id']}")
                continue
            p = fn["Properties"]
            if p.get("Architectures") != ["arm64"]:
                fail(f"{name}: Architectures {p.get('Architectures')}")
            if p.get("Runtime") != "provided.al2023" or p.get("Handler") != "bootstrap":
                fail(f"{name}: runtime {p.get('Runtime')} handler {p.get('Handler')}")
            code = p.get("Code", {})
            if not (code.get("S3Bucket") and code.get("S3Key")):
                fail(f"{name}: no packaged code ({code})")
            if sub_text(p.get("FunctionName")) != "${Prefix}_" + name:
                fail(f"{name}: FunctionName {p.get('FunctionName')}")
            if p.get("Timeout", 3) != f["timeout"]:
                fail(f"{name}: Timeout {p.get('Timeout')} but declared {f['timeout']}")
        for lid, r in of("AWS::ApiGatewayV2::Route").items():
            key = r["Properties"]["RouteKey"]
            target = sub_text(r["Properties"]["Target"])
            integ = integrations.get(target.removeprefix("integrations/${").removesuffix("}"))
            fn = ref_target(integ["Properties"]["IntegrationUri"]) if integ else None
            if key in routes_seen:
                fail(f"{key} is routed twice")
            routes_seen[key] = fn
        for name in st["functions"]:
            f = by_name[name]
            if f["kind"] == "queue":
                maps = [m for m in of("AWS::Lambda::EventSourceMapping").values()
                        if ref_target(m["Properties"]["FunctionName"]) == f["logical_id"]]
                if len(maps) != 1:
                    fail(f"{name}: {len(maps)} SQS event source mappings")
                    continue
                m = maps[0]["Properties"]
                queue = ref_target(m["EventSourceArn"])
                if "ReportBatchItemFailures" not in m.get("FunctionResponseTypes", []):
                    fail(f"{name}: its SQS trigger does not report batch item failures")
                rules = [r for r in of("AWS::Events::Rule").values()
                         if any(ref_target(t["Arn"]) == queue for t in r["Properties"].get("Targets", []))]
                kinds = sorted(k for r in rules for k in r["Properties"]["EventPattern"]["detail-type"])
                if kinds != sorted(f["consumes"]):
                    fail(f"{name}: rules route {kinds} to its queue, it consumes {f['consumes']}")
            if f["kind"] == "task" and f.get("schedule"):
                rules = [r for r in of("AWS::Events::Rule").values()
                         if any(ref_target(t["Arn"]) == f["logical_id"] for t in r["Properties"].get("Targets", []))]
                exprs = [r["Properties"].get("ScheduleExpression") for r in rules]
                if exprs != [f["schedule"]]:
                    fail(f"{name}: schedules {exprs}, declared {f['schedule']}")
    declared = {f["route"]: f["logical_id"] for f in manifest["functions"] if f["kind"] == "http"}
    if routes_seen != declared:
        missing = sorted(set(declared.items()) - set(routes_seen.items()))
        extra = sorted(set(routes_seen.items()) - set(declared.items()))
        fail(f"routes differ from the registry: missing {missing[:5]}, extra {extra[:5]}")
    else:
        print(f"  {len(declared)} routes, each to its declared function")


def replace_refs(v, values):
    """`v` with each {'Ref': X} for X in `values` replaced by its value."""
    if isinstance(v, dict):
        if set(v) == {"Ref"} and v["Ref"] in values:
            return values[v["Ref"]]
        if set(v) == {"Fn::Sub"} and isinstance(v["Fn::Sub"], str):
            text = v["Fn::Sub"]
            for k, x in values.items():
                text = text.replace("${" + k + "}", x)
            return {"Fn::Sub": text}
        return {k: replace_refs(x, values) for k, x in v.items()}
    if isinstance(v, list):
        return [replace_refs(x, values) for x in v]
    return v


def s3_location(url):
    u = urlparse(url)
    bucket, key = u.path.lstrip("/").split("/", 1)
    return bucket, key


def stage(root, work, built, placeholder):
    """Copies the templates, pointing each function's CodeUri at its build or the placeholder."""
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(os.path.join(work, "infra/stacks"))
    rt = load(os.path.join(root, "template.yaml"))
    for lid, res in rt["Resources"].items():
        if res["Type"] != "AWS::Serverless::Application":
            continue
        loc = res["Properties"]["Location"]
        nested = load(os.path.join(root, loc))
        for fid, fres in nested["Resources"].items():
            if fres["Type"] == "AWS::Serverless::Function":
                code = os.path.abspath(os.path.join(built, fid)) if os.path.isdir(os.path.join(built, fid)) else placeholder
                fres["Properties"]["CodeUri"] = code
        nested["Globals"]["Function"].pop("CodeUri", None)
        with open(os.path.join(work, loc), "w") as f:
            json.dump(nested, f, indent=1)
    with open(os.path.join(work, "template.yaml"), "w") as f:
        json.dump(rt, f, indent=1)


def deploy(args):
    manifest = json.load(open(args.manifest))
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    bucket = "deploy-check-artifacts"
    s3.create_bucket(Bucket=bucket)
    placeholder = os.path.join(args.work, "..", "placeholder")
    os.makedirs(placeholder, exist_ok=True)
    with open(os.path.join(placeholder, "bootstrap"), "w") as f:
        f.write("#!/bin/sh\n# placeholder: this function was not built by the deployment check\nexit 1\n")
    stage(args.root, args.work, args.built, os.path.abspath(placeholder))
    t0 = time.time()
    packaged = os.path.join(args.work, "packaged.yaml")
    done = subprocess.run(
        [args.sam, "package", "--template-file", os.path.join(args.work, "template.yaml"),
         "--s3-bucket", bucket, "--output-template-file", packaged, "--region", REGION],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        sys.exit(f"sam package failed:\n{done.stdout}\n{done.stderr}")
    print(f"  sam package: {time.time() - t0:.1f}s")
    rt = load(packaged)
    stacks = {}
    counts = {}
    for lid, res in rt["Resources"].items():
        if res["Type"] != "AWS::Serverless::Application":
            continue
        b, key = s3_location(res["Properties"]["Location"])
        nested = yaml_parse(s3.get_object(Bucket=b, Key=key)["Body"].read().decode())
        out = sam_transform(nested)
        stacks[lid] = out
        counts[lid] = len(out["Resources"])
        s3.put_object(Bucket=bucket, Key=f"transformed/{lid}.json", Body=json.dumps(out).encode())
        res["Properties"]["Location"] = f"https://s3.amazonaws.com/{bucket}/transformed/{lid}.json"
    root = sam_transform(rt)
    counts["(root)"] = len(root["Resources"])
    report_counts("today", counts)
    check_transformed(stacks, manifest)
    for lid, r in root["Resources"].items():
        if r["Type"] == "AWS::CloudFormation::Stack" and lid not in stacks:
            fail(f"{lid}: the root's nested stack was not transformed")

    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    proxy_sg = ec2.create_security_group(GroupName="proxy", Description="proxy", VpcId=vpc)["GroupId"]
    arn = lambda n: f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{n}"
    params = {
        "Stage": "dev", "VpcId": vpc, "PrivateSubnetIds": ",".join(subnets), "PrivateRouteTableId": rtb,
        "DbProxyEndpoint": "proxy.example.internal", "DbProxySecurityGroupId": proxy_sg,
        "DbAppSecretArn": arn("app"), "DbAdminSecretArn": arn("admin"), "DbOpsSecretArn": arn("ops"),
    }
    name = args.stack
    # moto's CloudFormation skips secrets and ApiGatewayV2 resources, and a reference to a skipped
    # resource is empty (an IAM statement without a resource, a nested stack without its API id):
    # make them through their own APIs first and point the references at them.
    sm = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint)
    apis = boto3.client("apigatewayv2", region_name=REGION, endpoint_url=endpoint)
    made = {}
    for lid, r in list(root["Resources"].items()):
        if r["Type"] == "AWS::SecretsManager::Secret":
            made[lid] = sm.create_secret(Name=f"{name}/{lid}", SecretString="{}")["ARN"]
        elif r["Type"] == "AWS::ApiGatewayV2::Api":
            made[lid] = apis.create_api(Name=f"{name}-api", ProtocolType="HTTP")["ApiId"]
        elif r["Type"] != "AWS::ApiGatewayV2::Stage":
            continue
        del root["Resources"][lid]
    root = replace_refs(root, made)
    with open(os.path.join(args.work, "root.transformed.json"), "w") as f:
        json.dump(root, f, indent=1)
    cfn = boto3.client("cloudformation", region_name=REGION, endpoint_url=endpoint)
    t0 = time.time()
    cfn.create_stack(
        StackName=name, TemplateBody=json.dumps(root),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    print(f"  create_stack on the emulator: {status} in {time.time() - t0:.1f}s")
    if status != "CREATE_COMPLETE":
        fail(f"create_stack ended {status}")
        return

    lam = boto3.client("lambda", region_name=REGION, endpoint_url=endpoint)
    deployed = {}
    for page in lam.get_paginator("list_functions").paginate():
        for f in page["Functions"]:
            deployed[f["FunctionName"]] = f
    built = {d for d in os.listdir(args.built) if os.path.isdir(os.path.join(args.built, d))}
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    events = boto3.client("events", region_name=REGION, endpoint_url=endpoint)
    bus = f"{name}-gateway"
    bus_rules = events.list_rules(EventBusName=bus)["Rules"]
    default_rules = events.list_rules()["Rules"]
    for f in manifest["functions"]:
        fname = f"{name}_{f['name']}"
        d = deployed.get(fname)
        if d is None:
            fail(f"{fname}: not created")
            continue
        if not d.get("CodeSize"):
            fail(f"{fname}: no code")
        if f["logical_id"] in built and d["CodeSize"] < 1_000_000:
            fail(f"{fname}: built, but its code is {d['CodeSize']} bytes")
        if f["kind"] == "queue":
            queue_arn = f"arn:aws:sqs:{REGION}:123456789012:{name}-{f['name']}"
            if not any(m["FunctionArn"] == d["FunctionArn"] and m["EventSourceArn"] == queue_arn for m in mappings):
                fail(f"{fname}: no event source mapping from {queue_arn}")
            ok = False
            for r in bus_rules:
                pattern = json.loads(r.get("EventPattern", "{}"))
                targets = events.list_targets_by_rule(Rule=r["Name"], EventBusName=bus)["Targets"]
                if any(t["Arn"] == queue_arn for t in targets):
                    ok = sorted(pattern.get("detail-type", [])) == sorted(f["consumes"])
            if not ok:
                fail(f"{fname}: no rule on {bus} routing {f['consumes']} to its queue")
        if f["kind"] == "task" and f.get("schedule"):
            ok = False
            for r in default_rules:
                targets = events.list_targets_by_rule(Rule=r["Name"])["Targets"]
                if any(t["Arn"] == d["FunctionArn"] for t in targets):
                    ok = r.get("ScheduleExpression") == f["schedule"]
            if not ok:
                fail(f"{fname}: no {f['schedule']} schedule")
    print(f"  on the emulator: {len(manifest['functions'])} functions with code "
          f"({len(built)} built for arm64), {len(mappings)} queue triggers, {len(bus_rules)} bus rules")


def reduce(root, out, names):
    """A SAM template of only the named functions, for `sam build`."""
    rt = load(os.path.join(root, "template.yaml"))
    resources = {}
    for res in rt["Resources"].values():
        if res["Type"] != "AWS::Serverless::Application":
            continue
        nested = load(os.path.join(root, res["Properties"]["Location"]))
        g = nested["Globals"]["Function"]
        for fid, f in nested["Resources"].items():
            if f["Type"] == "AWS::Serverless::Function" and f["Metadata"]["BuildProperties"]["Binary"] in names:
                resources[fid] = {
                    "Type": f["Type"],
                    "Metadata": f["Metadata"],
                    "Properties": {"CodeUri": os.path.abspath(root), "Handler": g["Handler"],
                                   "Runtime": g["Runtime"], "Architectures": g["Architectures"]},
                }
    if len(resources) != len(names):
        sys.exit(f"reduce: found {sorted(resources)} for {names}")
    with open(out, "w") as f:
        json.dump({"AWSTemplateFormatVersion": "2010-09-09", "Transform": "AWS::Serverless-2016-10-31",
                   "Resources": resources}, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("count")
    c.add_argument("label")
    c.add_argument("dir")
    d = sub.add_parser("deploy")
    d.add_argument("--root", required=True)
    d.add_argument("--work", required=True)
    d.add_argument("--built", required=True)
    d.add_argument("--manifest", required=True)
    d.add_argument("--sam", required=True)
    d.add_argument("--stack", default="gw-deploy-check")
    r = sub.add_parser("reduce")
    r.add_argument("root")
    r.add_argument("out")
    r.add_argument("names", nargs="+")
    args = ap.parse_args()
    if args.cmd == "reduce":
        reduce(args.root, args.out, args.names)
    elif args.cmd == "count":
        report_counts(args.label, count_dir(args.dir))
    else:
        deploy(args)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
