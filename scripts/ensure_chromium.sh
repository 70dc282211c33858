#!/usr/bin/env bash
# Make sure Debian's Chromium and a CJK font are present for the browser tests (tests/browser/).
# As root, installs the Debian packages `chromium` and `fonts-noto-cjk` with apt-get; otherwise fails and says
# what to install. Never downloads a browser build from anywhere else.
set -euo pipefail

CHROMIUM="${JIEDAO_CHROMIUM:-/usr/bin/chromium}"

have_chromium() { [ -x "$CHROMIUM" ]; }
have_cjk_font() {
    if command -v fc-list >/dev/null 2>&1; then
        [ -n "$(fc-list :lang=zh family 2>/dev/null | head -n 1)" ]
    else
        dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed"
    fi
}

missing=()
have_chromium || missing+=(chromium)
have_cjk_font || missing+=(fonts-noto-cjk)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: installing ${missing[*]} from Debian (apt-get)…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk fontconfig >/dev/null
    if ! have_chromium; then
        echo "ensure_chromium: apt-get finished but $CHROMIUM is still missing." >&2
        exit 1
    fi
    exit 0
fi

echo "ensure_chromium: missing ${missing[*]} — the browser tests need Debian's Chromium and a CJK font." >&2
echo "  Install them as root:  apt-get update && apt-get install -y chromium fonts-noto-cjk" >&2
echo "  (or point JIEDAO_CHROMIUM at another Chromium binary)." >&2
exit 1
