#!/usr/bin/env python3
"""Prints an HS256 bearer token (Supabase-style) for the enqueue benchmark.

usage: mint_token.py SECRET [SUB] [TTL_SECONDS] [COUNT]
With COUNT, prints COUNT tokens, one a line, for the subjects SUB-1 … SUB-COUNT.
"""
import base64
import hashlib
import hmac
import json
import sys
import time


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def main() -> None:
    secret = sys.argv[1].encode("utf-8")
    sub = sys.argv[2] if len(sys.argv) > 2 else "bench-user"
    ttl = int(sys.argv[3]) if len(sys.argv) > 3 else 7200
    if len(sys.argv) > 4:
        for i in range(1, int(sys.argv[4]) + 1):
            print(token(secret, f"{sub}-{i}", ttl))
    else:
        print(token(secret, sub, ttl))


def token(secret: bytes, sub: str, ttl: int) -> str:
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"sub": sub, "role": "authenticated", "iat": now, "exp": now + ttl}
    signing_input = b64(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64(sig)


if __name__ == "__main__":
    main()
