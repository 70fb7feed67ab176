"""A real S3 API on loopback for the tests: moto's standalone server, in a process of its own.

boto3 talks to it over HTTP exactly as it would to a bucket in the cloud (signatures, ranged
GETs, multipart uploads, presigned links), so nothing about boto3 is mocked. Started once per
test session (tests/conftest.py: `s3_server`); each test gets a bucket of its own.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass

# moto accepts any credentials; boto3 refuses to sign without some.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "airlock-test",
    "AWS_SECRET_ACCESS_KEY": "airlock-test-secret",
    "AWS_DEFAULT_REGION": "eu-west-2",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def new_bucket(self) -> str:
        name = f"airlock-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["AWS_DEFAULT_REGION"]},
        )
        return name

    def storage_url(self, bucket: str) -> str:
        return f"s3://{bucket}?endpoint_url={self.endpoint}&region=eu-west-2"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_s3_server(timeout: float = 30.0) -> S3Server:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ | CREDENTIALS,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto's server stopped while starting (exit {process.returncode})")
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return S3Server(endpoint, process)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"moto's server did not answer on {endpoint} within {timeout:.0f} s")
