#!/usr/bin/env bash
# Static checks of the deployment files, for a machine with neither a Docker engine nor a Kubernetes cluster:
# - docker-compose.yml through compose-go, the library `docker compose config` runs on (tools/compose-check);
# - deploy/k8s/*.yaml against the Kubernetes API schemas (kubernetes-validate, offline, in its own venv).
# What they cannot check (images pulling, containers starting, probes answering in a cluster) is said in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
K8S_VALIDATE_VERSION=1.37.0

echo "check-deploy: docker-compose.yml (compose-go)"
(cd tools/compose-check && go run . ../../docker-compose.yml > /dev/null)

venv=.tools/deploy-venv
if [ ! -x "$venv/bin/kubernetes-validate" ] || ! "$venv/bin/kubernetes-validate" --version | grep -qx "$K8S_VALIDATE_VERSION"; then
  echo "check-deploy: installing kubernetes-validate $K8S_VALIDATE_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$K8S_VALIDATE_VERSION"
fi
echo "check-deploy: deploy/k8s (Kubernetes $K8S_VALIDATE_VERSION schemas, strict)"
mapfile -t manifests < <(ls deploy/k8s/*.yaml | grep -v '/kustomization.yaml$')
"$venv/bin/kubernetes-validate" --strict --quiet "${manifests[@]}"
echo "check-deploy: ok"
