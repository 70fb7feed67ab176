"""Benchmark: evidence upload and download throughput, local disk against an S3 API.

    .venv/bin/python bench/evidence_storage.py [--rounds 5]

Recreates its own PostgreSQL database (BENCH_DATABASE_URL's name + "_storage") with one
manufacturer, one reviewer and one draft case, starts moto's S3 server on a free loopback port
(tests/s3.py), and for each store and file size uploads and downloads evidence the way a
person does, through Django's request handling in this process (DEBUG off):

- upload: a multipart POST to the upload page: parse, check the content, hash, store, read
  back and verify the hash, record; MB/s of file per second of request;
- download (stream): the permission-checked view streaming the file through the web node;
- download (redirect, S3 only): the view's presigned link, then fetching it from the store.

moto's server is an S3 API written in Python on this machine, so its figures are a floor for a
real object store (which serves from many machines); the ratio between the stores shows what
the object store's round trips and the read-back verification cost.
"""

import argparse
import os
import statistics
import sys
import time
import urllib.request

from benchlib import ROOT, database_url, ensure_database, setup_django, write_result

SIZES_MB = [1, 10, 24]
PDF_HEADER = b"%PDF-1.7\n"


def pdf(size_mb: int) -> bytes:
    body = os.urandom(size_mb * 1024 * 1024 - len(PDF_HEADER) - 6)
    return PDF_HEADER + body + b"\n%%EOF"


def people():
    from airlock.roles import Role
    from tests.factories import (
        ApplicationFactory,
        OrganisationFactory,
        UserFactory,
        make_manufacturer,
    )

    organisation = OrganisationFactory(name="Storage Bench Ltd")
    maker = make_manufacturer(organisation, email="maker@storage.bench")
    reviewer = UserFactory(email="reviewer@storage.bench", role=Role.REVIEWER)
    application = ApplicationFactory(organisation=organisation, created_by=maker)
    return maker, reviewer, application


def measure(label: str, rounds: int, content: bytes, maker, reviewer, application) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from airlock import storage
    from devices.models import EvidenceDocument

    uploader, downloader = Client(), Client()
    uploader.force_login(maker)
    downloader.force_login(reviewer)
    upload_url = reverse("devices:evidence-upload", args=[application.pk])
    timings: dict[str, list[float]] = {"upload": [], "download (stream)": []}
    redirect = storage.is_object_store()
    if redirect:
        timings["download (redirect)"] = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = uploader.post(
            upload_url,
            {
                "kind": "risk_management",
                "title": "",
                "file": SimpleUploadedFile("bench.pdf", content, "application/pdf"),
            },
        )
        timings["upload"].append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
        document = EvidenceDocument.objects.filter(application=application).latest("pk")
        download_url = reverse("devices:evidence-download", args=[document.pk])

        started = time.perf_counter()
        response = downloader.get(download_url)
        received = sum(len(chunk) for chunk in response.streaming_content)
        timings["download (stream)"].append(time.perf_counter() - started)
        assert received == len(content)

        if redirect:
            from django.test import override_settings

            with override_settings(EVIDENCE_DOWNLOAD="redirect"):
                started = time.perf_counter()
                link = downloader.get(download_url)["Location"]
                with urllib.request.urlopen(link, timeout=60) as fetched:
                    received = len(fetched.read())
                timings["download (redirect)"].append(time.perf_counter() - started)
            assert received == len(content)
    size_mb = len(content) / (1024 * 1024)
    return {
        "store": label,
        "size_mb": round(size_mb),
        "rounds": rounds,
        "operations": {
            name: {
                "median_ms": round(statistics.median(samples) * 1000, 1),
                "mb_per_s": round(size_mb / statistics.median(samples), 1),
            }
            for name, samples in timings.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url = database_url("_storage")
    ensure_database(url, fresh=True)
    setup_django(url)
    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings

    sys.path.insert(0, str(ROOT))
    from tests.s3 import CREDENTIALS, start_s3_server

    call_command("migrate", verbosity=0)
    maker, reviewer, application = people()
    server = start_s3_server()
    os.environ.update(CREDENTIALS)
    stores = {
        "local disk": settings.STORAGES,
        "S3 API (moto server)": {
            **settings.STORAGES,
            "private": {
                "BACKEND": "airlock.storage.PrivateS3Storage",
                "OPTIONS": {
                    "bucket_name": server.new_bucket(),
                    "endpoint_url": server.endpoint,
                    "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
                    "object_parameters": {"ServerSideEncryption": "AES256"},
                },
            },
        },
    }
    results = []
    try:
        print(f"{'store':22} {'MB':>4} {'operation':22} {'median ms':>10} {'MB/s':>8}")
        for size in SIZES_MB:
            content = pdf(size)
            for label, storages in stores.items():
                with override_settings(STORAGES=storages, EVIDENCE_MAX_UPLOAD_BYTES=25 << 20):
                    result = measure(label, args.rounds, content, maker, reviewer, application)
                results.append(result)
                for name, figures in result["operations"].items():
                    print(
                        f"{label:22} {size:4} {name:22} {figures['median_ms']:10.1f} "
                        f"{figures['mb_per_s']:8.1f}"
                    )
    finally:
        server.stop()
    path = write_result(
        "evidence_storage",
        {
            "method": "Django test client in process (DEBUG off), PostgreSQL, median of rounds",
            "private_storage_root": str(settings.PRIVATE_STORAGE_ROOT),
            "results": results,
        },
    )
    print(f"evidence_storage: written to {path}")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
