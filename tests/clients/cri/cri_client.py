#!/usr/bin/python3
"""A small CRI client for tests/clients/cri.bats (Debian's python3-grpcio
and python3-protobuf, stubs compiled by protoc from cri.proto beside this
file into a temp dir at every run).

  cri_client.py --sock PATH call METHOD [JSON]   request as JSON (or @FILE),
                                                 response printed as JSON
  cri_client.py --sock PATH exec ID CMD [ARG...] ExecSync: the command's
                                                 stdout and stderr, and its
                                                 exit code as ours

METHOD is a method of runtime.v1.RuntimeService in cri.proto.
A failed call prints "cri_client: METHOD: CODE: details" and exits 1.
"""

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def load_stubs(tmp):
    subprocess.run(["protoc", "-I", HERE, "--python_out", tmp,
                    os.path.join(HERE, "cri.proto")], check=True)
    sys.path.insert(0, tmp)
    return importlib.import_module("cri_pb2")


def find_method(pb, name):
    for service in pb.DESCRIPTOR.services_by_name.values():
        method = service.methods_by_name.get(name)
        if method is not None:
            return service, method
    raise SystemExit("cri_client: no method %s in cri.proto" % name)


def message_class(pb, descriptor):
    return getattr(pb, descriptor.name)


def call(pb, channel, name, request_dict, timeout):
    from google.protobuf import json_format
    import grpc

    service, method = find_method(pb, name)
    req_cls = message_class(pb, method.input_type)
    resp_cls = message_class(pb, method.output_type)
    request = json_format.ParseDict(request_dict, req_cls())
    stub = channel.unary_unary(
        "/%s/%s" % (service.full_name, method.name),
        request_serializer=req_cls.SerializeToString,
        response_deserializer=resp_cls.FromString)
    try:
        return stub(request, timeout=timeout)
    except grpc.RpcError as e:
        sys.stderr.write("cri_client: %s: %s: %s\n" %
                         (name, e.code().name, e.details()))
        sys.exit(1)


def parse_json_arg(text):
    if text.startswith("@"):
        with open(text[1:]) as f:
            text = f.read()
    try:
        value = json.loads(text)
    except ValueError as e:
        raise SystemExit("cri_client: the request is not JSON: %s" % e)
    if not isinstance(value, dict):
        raise SystemExit("cri_client: the request must be a JSON object")
    return value


def main():
    ap = argparse.ArgumentParser(description="a small CRI client")
    ap.add_argument("--sock", required=True, help="the CRI unix socket")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds a call may take (default 600)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("call")
    c.add_argument("method")
    c.add_argument("request", nargs="?", default="{}")
    e = sub.add_parser("exec")
    e.add_argument("container_id")
    e.add_argument("argv", nargs=argparse.REMAINDER)
    args = ap.parse_args()

    import grpc
    from google.protobuf import json_format

    with tempfile.TemporaryDirectory(prefix="cri-pb.") as tmp:
        pb = load_stubs(tmp)
        with grpc.insecure_channel("unix:" + args.sock) as channel:
            if args.cmd == "call":
                resp = call(pb, channel, args.method,
                            parse_json_arg(args.request), args.timeout)
                print(json_format.MessageToJson(
                    resp, preserving_proto_field_name=True,
                    including_default_value_fields=True))
                return 0
            if not args.argv:
                raise SystemExit("cri_client: exec needs a command")
            resp = call(pb, channel, "ExecSync",
                        {"container_id": args.container_id,
                         "cmd": args.argv,
                         "timeout": int(args.timeout)}, args.timeout + 30)
            sys.stdout.buffer.write(resp.stdout)
            sys.stderr.buffer.write(resp.stderr)
            return resp.exit_code


if __name__ == "__main__":
    sys.exit(main())
