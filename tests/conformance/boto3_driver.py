"""Run IVS Chat calls through boto3 and print each outcome as JSON.

Reads {"endpoint": URL, "calls": [{"operation": "create_room", "params": {...}}, ...]} from
stdin and prints a JSON list with one result per call, in order:
{"ok": true, "response": {...}} or
{"ok": false, "code": ..., "status": ..., "message": ..., "reason": ..., "fieldList": [...]}.

Client-side parameter validation is off, so invalid input reaches the service, and retries
are off, so every call is exactly one request.
"""

import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def main():
    request = json.load(sys.stdin)
    client = boto3.client(
        "ivschat",
        endpoint_url=request["endpoint"],
        region_name="us-east-1",
        config=Config(
            parameter_validation=False,
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=30,
        ),
    )
    results = []
    for call in request["calls"]:
        method = getattr(client, call["operation"])
        try:
            response = method(**call.get("params", {}))
            response.pop("ResponseMetadata", None)
            results.append({"ok": True, "response": response})
        except ClientError as error:
            body = error.response
            results.append(
                {
                    "ok": False,
                    "code": body.get("Error", {}).get("Code"),
                    "status": body.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                    "message": body.get("Error", {}).get("Message"),
                    "reason": body.get("reason"),
                    "fieldList": body.get("fieldList"),
                }
            )
    json.dump(results, sys.stdout, default=str)


if __name__ == "__main__":
    main()
