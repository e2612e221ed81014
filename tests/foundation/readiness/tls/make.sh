#!/usr/bin/env bash
# Regenerates the TEST-ONLY certificates in this directory (never used outside tests/): a CA, the API server's
# certificate for 127.0.0.1/localhost and an admin client certificate, as an ACK kubeconfig carries them.
# Valid for 100 years, so the tests do not start failing one day.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
days=36500
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days "$days" -subj "/CN=asm-canary test CA"
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=kube-apiserver"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days "$days" -extfile server.ext
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/O=system:masters/CN=kubernetes-admin"
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days "$days"
rm -f server.csr client.csr server.ext ca.srl ca.key
