"""Reading a stored file as a stream, whatever the storage behind its field.

The portal serves evidence, certified reports and objection evidence through its own views,
after their access checks, never from public URLs. On the local file system ``FieldFile.open``
gives a file that the response reads block by block. On S3, django-storages' ``S3File`` first
downloads the whole object into a ``SpooledTemporaryFile`` (in memory unless told otherwise):
half a gigabyte of evidence would sit in the web process before its first byte went out. So
``open_stream`` asks S3 for the object and returns the body of its answer, which is read from the
network as the response is sent.

The bottom of the layers: it knows Django and django-storages, and no module of the project.
"""

from __future__ import annotations

from typing import IO

from botocore.exceptions import ClientError
from django.core.files.storage import Storage
from django.db.models.fields.files import FieldFile
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

# What S3 answers for an object that is not there, depending on the server and the request.
_MISSING = {"NoSuchKey", "404", "NotFound"}


def open_stream(field_file: FieldFile) -> IO[bytes]:
    """A binary stream of the file stored in ``field_file``, positioned at its start. The caller
    closes it (a ``FileResponse`` does, at the end of the response or when the client goes).

    Nothing is read before the caller reads: no copy in memory or on disk, whatever the size.
    Raises FileNotFoundError when the field is empty or the stored file is gone; other storage
    errors (a refused credential, an unreachable object store) propagate.
    """
    name = field_file.name
    if not name:
        raise FileNotFoundError("The field holds no file.")
    return storage_stream(field_file.storage, name)


def storage_stream(storage: Storage, name: str) -> IO[bytes]:
    """``open_stream`` for a name in a storage (the backup reads files by name)."""
    if isinstance(storage, S3Storage):
        # The object key exactly as django-storages computed it when saving (AWS_LOCATION, if
        # any, and the same clean-up of the name).
        key = storage._normalize_name(clean_name(name))
        client = storage.connection.meta.client
        try:
            answer = client.get_object(Bucket=storage.bucket_name, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(f"No object {key!r} in the bucket.") from error
            raise
        return answer["Body"]
    return storage.open(name, "rb")
