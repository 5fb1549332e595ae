"""stratus.identity.ec2 accepts what keystoneclient's Ec2Signer (the signer Heat and
EC2 clients use) signs, in the forms the API test does not cover: v2 with HmacSHA1, v4
with the X-Amz-* query parameters of a presigned URL; and refuses a changed request."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from keystoneclient.contrib.ec2.utils import Ec2Signer

from stratus.identity import ec2

SECRET = "s3cr3t"


def test_v2_hmac_sha1_as_signed_by_hand():
    params = {"AWSAccessKeyId": "AK", "SignatureMethod": "HmacSHA1", "SignatureVersion": "2",
              "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Action": "Describe Instances"}
    text = "GET\nhost:8000\n/\n" + ec2.canonical_query(params)
    sig = base64.b64encode(hmac.new(SECRET.encode(), text.encode(), hashlib.sha1).digest()).decode()
    creds = {"access": "AK", "signature": sig, "host": "host:8000", "verb": "GET", "path": "/",
             "params": {**params, "Signature": sig}}
    ec2.verify(SECRET, creds)
    with pytest.raises(ec2.SignatureError, match="Invalid EC2 signature"):
        ec2.verify(SECRET, {**creds, "verb": "POST"})


def test_v4_presigned_query():
    amz = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    params = {"Action": "DescribeInstances", "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
              "X-Amz-Credential": f"AK/{amz[:8]}/RegionOne/ec2/aws4_request",
              "X-Amz-Date": amz, "X-Amz-SignedHeaders": "host"}
    creds = {"access": "AK", "host": "h:1", "verb": "GET", "path": "/", "params": params,
             "headers": {"Host": "h:1"}, "body_hash": hashlib.sha256(b"").hexdigest()}
    sig = Ec2Signer(SECRET).generate({**creds, "params": dict(params)})
    # the client sends the URL's parameters, signature included
    ec2.verify(SECRET, {**creds, "signature": sig, "params": {**params, "X-Amz-Signature": sig}})
    with pytest.raises(ec2.SignatureError):
        ec2.verify(SECRET, {**creds, "signature": sig, "params": {**params, "Action": "RunInstances"}})
    with pytest.raises(ec2.SignatureError, match="date mismatch"):
        bad = {**params, "X-Amz-Credential": "AK/19990101/RegionOne/ec2/aws4_request"}
        ec2.verify(SECRET, {**creds, "signature": sig, "params": bad})
