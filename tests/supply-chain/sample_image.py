"""A tiny multi-platform image for the refresh test: `sample_image.py DIR TEXT` writes an OCI image
layout in DIR, tagged "sample": an image index holding one linux/amd64 image whose only layer is a
file with TEXT (another TEXT, other digests). skopeo copies it to a registry as it is."""

import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path


def blob(layout, data, media_type, **extra):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs/sha256" / digest[7:]).write_bytes(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data), **extra}


def main(directory, text):
    layout = Path(directory)
    (layout / "blobs/sha256").mkdir(parents=True, exist_ok=True)
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as archive:
        content = text.encode()
        info = tarfile.TarInfo("sample.txt")
        info.size, info.mtime = len(content), 0
        archive.addfile(info, io.BytesIO(content))
    uncompressed = tar_bytes.getvalue()
    layer = blob(layout, gzip.compress(uncompressed, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
    config = blob(layout, json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(uncompressed).hexdigest()]},
    }).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = blob(layout, json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config, "layers": [layer],
    }).encode(), "application/vnd.oci.image.manifest.v1+json",
        platform={"architecture": "amd64", "os": "linux"})
    index = blob(layout, json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [manifest],
    }).encode(), "application/vnd.oci.image.index.v1+json",
        annotations={"org.opencontainers.image.ref.name": "sample"})
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [index]}))
    print(index["digest"], manifest["digest"])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
