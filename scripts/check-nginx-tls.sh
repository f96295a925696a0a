#!/usr/bin/env bash
# Checks nginx/blade.conf.template over HTTPS with the real nginx, openssl and curl:
#
#   scripts/check-nginx-tls.sh
#
# It makes a throw-away ECDSA P-256 authority and server certificate with openssl, renders the
# template with sed into a temporary prefix, and starts nginx as an ordinary process of its own
# (`nginx -p … -c … -e … -g 'daemon off;'`) on 127.0.0.77, HTTP 18080 and HTTPS 18443
# (CHECK_ADDRESS, CHECK_HTTP_PORT, CHECK_TLS_PORT to change them). No app listens on the FastCGI
# socket at first, so the app's locations answer 502 and every other answer is nginx's own:
#   - plain HTTP: 308 to https://HOST:18443/PATH?QUERY for pages (POST too), not for
#     /health/active (502 here: it went to the app) or /ca.crt (the authority, as
#     application/x-x509-ca-cert); a request without Host is not foreign;
#   - 421 for a foreign Host (DNS rebinding: Host evil.example) on both listeners, HTTP/1.1
#     and HTTP/2, also when the TLS name (SNI) is one of ours;
#   - HSTS on HTTPS answers only; nosniff, Referrer-Policy and a Content-Security-Policy with
#     frame-ancestors 'none' on a static file, a 404, the 308, the 421 and the 502;
#   - HTTP/2 negotiated; TLS 1.2 and 1.3 accepted, TLS 1.1 refused by the server (openssl
#     s_client offering only TLS 1.1 at security level 0 gets "protocol version");
#   - the certificate verifies against the authority for the address and the name.
# Then, when python3 is installed, a FastCGI stand-in of a few lines takes the socket and shows
# that the app's answers pass with the app's own headers, never doubled: /health/active answers
# 200 over plain HTTP, a page keeps its own Content-Security-Policy and Referrer-Policy as the
# only ones, a JSON answer without them gets nginx's fill-ins, and the app learns HTTPS=on.
#
# Exits 0 when every check passes, 1 when any fails (each is printed), 77 when nginx, openssl
# or curl is missing. It stops the nginx and the stand-in it started (by their pids) and removes
# its directory, also when interrupted.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ADDRESS=${CHECK_ADDRESS:-127.0.0.77}
HTTP_PORT=${CHECK_HTTP_PORT:-18080}
TLS_PORT=${CHECK_TLS_PORT:-18443}
NAME=chassis.test

for tool in nginx openssl curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "skipped: $tool is not installed (make deps)"
        exit 77
    fi
done

WORK=$(mktemp -d /tmp/check-nginx-tls.XXXXXX)
# nginx's workers run as nobody when nginx runs as root: they must reach the files they serve.
chmod 755 "$WORK"
NGINX_PID=
APP_PID=
cleanup() {
    if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill -TERM "$NGINX_PID" 2>/dev/null
        wait "$NGINX_PID" 2>/dev/null
    fi
    if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
        kill -TERM "$APP_PID" 2>/dev/null
        wait "$APP_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILURES=0
pass() { echo "ok    $1"; }
fail() { echo "FAIL  $1"; FAILURES=$((FAILURES + 1)); }
check() { # check DESCRIPTION EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
contains() { # contains DESCRIPTION NEEDLE HAYSTACK
    if printf '%s' "$3" | grep -qiF -- "$2"; then pass "$1"; else fail "$1: no [$2] in: $(printf '%s' "$3" | tr '\r\n' '  ')"; fi
}
lacks() { # lacks DESCRIPTION NEEDLE HAYSTACK
    if printf '%s' "$3" | grep -qiF -- "$2"; then fail "$1: unexpected [$2] in: $(printf '%s' "$3" | tr '\r\n' '  ')"; else pass "$1"; fi
}
count() { # count HEADER-NAME HEADERS: how many times the header occurs
    printf '%s' "$2" | tr -d '\r' | grep -ic "^$1:" || true
}

# --- A throw-away authority and server certificate, as the chassis would make them ------------
cd "$WORK" || exit 1
{
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key &&
    openssl req -x509 -new -key ca.key -sha256 -days 2 -out ca.pem \
        -subj "/O=Chassis Manager/CN=Chassis Manager CA check-nginx-tls" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key &&
    openssl req -new -key server.key -subj "/O=Chassis Manager/CN=blade1" -out server.csr &&
    printf '%s\n' "subjectAltName=DNS:$NAME,DNS:localhost,IP:$ADDRESS" "extendedKeyUsage=serverAuth" \
        "keyUsage=critical,digitalSignature" "basicConstraints=critical,CA:FALSE" \
        "authorityKeyIdentifier=keyid" > server.ext &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
        -days 2 -sha256 -extfile server.ext -out server.pem
} >openssl.log 2>&1 || { cat openssl.log; echo "FAIL  openssl could not make the certificates"; exit 1; }
chmod 644 ca.pem server.pem

# --- The template, rendered as chassisctl renders it ------------------------------------------
mkdir -p prefix public run
chmod 755 public run
echo 'console.log("static")' > public/app.js
chmod 644 public/app.js
sed -e "s|{{prefix}}|$WORK/prefix|g" \
    -e "s|{{listen}}|$ADDRESS:$HTTP_PORT|g" \
    -e "s|{{tls_listen}}|$ADDRESS:$TLS_PORT|g" \
    -e "s|{{tls_port}}|$TLS_PORT|g" \
    -e "s|{{server_names}}|$NAME localhost $ADDRESS|g" \
    -e "s|{{certificate}}|$WORK/server.pem|g" \
    -e "s|{{certificate_key}}|$WORK/server.key|g" \
    -e "s|{{ca_certificate}}|$WORK/ca.pem|g" \
    -e "s|{{public_root}}|$WORK/public|g" \
    -e "s|{{fastcgi_socket}}|$WORK/run/web.sock|g" \
    -e "s|{{mime_types}}|/etc/nginx/mime.types|g" \
    "$ROOT/nginx/blade.conf.template" > prefix/nginx.conf
if grep -n '{{' prefix/nginx.conf; then fail "placeholders left unrendered (above)"; fi

if ! nginx -t -q -p "$WORK/prefix/" -c "$WORK/prefix/nginx.conf" -e "$WORK/prefix/error.log" -g 'daemon off;'; then
    echo "FAIL  nginx -t refused the rendered template"; cat prefix/error.log 2>/dev/null; exit 1
fi
nginx -p "$WORK/prefix/" -c "$WORK/prefix/nginx.conf" -e "$WORK/prefix/error.log" -g 'daemon off;' \
    >prefix/nginx.out 2>&1 &
NGINX_PID=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://$ADDRESS:$HTTP_PORT/ca.crt" && break
    sleep 0.05
done
if ! kill -0 "$NGINX_PID" 2>/dev/null; then
    echo "FAIL  nginx did not start"; cat prefix/nginx.out prefix/error.log 2>/dev/null; exit 1
fi

HTTP="http://$ADDRESS:$HTTP_PORT"
HTTPS="https://$ADDRESS:$TLS_PORT"
TRUST=(--cacert "$WORK/ca.pem")
RESOLVE=(--resolve "$NAME:$TLS_PORT:$ADDRESS" --resolve "evil.example:$TLS_PORT:$ADDRESS")
status() { curl -s -o /dev/null -w '%{http_code}' "${TRUST[@]}" "${RESOLVE[@]}" "$@"; }
heads() { curl -s -o /dev/null -D - "${TRUST[@]}" "${RESOLVE[@]}" "$@"; }
security_headers() { # security_headers WHAT HEADERS [hsts|nohsts]
    contains "$1: X-Content-Type-Options" "X-Content-Type-Options: nosniff" "$2"
    contains "$1: Referrer-Policy" "Referrer-Policy: same-origin" "$2"
    contains "$1: CSP frame-ancestors" "frame-ancestors 'none'" "$2"
    check "$1: one Content-Security-Policy" 1 "$(count Content-Security-Policy "$2")"
    if [ "$3" = hsts ]; then
        contains "$1: HSTS" "Strict-Transport-Security: max-age=31536000" "$2"
    else
        lacks "$1: no HSTS over plain HTTP" "Strict-Transport-Security" "$2"
    fi
}

echo "--- the certificate"
OUT=$(openssl verify -CAfile ca.pem -purpose sslserver -verify_ip "$ADDRESS" server.pem 2>&1)
contains "openssl verify for $ADDRESS" "server.pem: OK" "$OUT"
OUT=$(openssl verify -CAfile ca.pem -purpose sslserver -verify_hostname "$NAME" server.pem 2>&1)
contains "openssl verify for $NAME" "server.pem: OK" "$OUT"

echo "--- plain HTTP"
H=$(heads "$HTTP/chassis/overview?x=1&y=2")
contains "GET over HTTP is a 308" "HTTP/1.1 308" "$H"
contains "the 308 goes to the HTTPS port, path and query kept" "Location: https://$ADDRESS:$TLS_PORT/chassis/overview?x=1&y=2" "$H"
security_headers "the 308" "$H" nohsts
H=$(heads -H "Host: $NAME:$HTTP_PORT" "$HTTP/")
contains "the 308 names the host asked for" "Location: https://$NAME:$TLS_PORT/" "$H"
check "POST over HTTP is a 308 (the method is kept)" 308 "$(status -X POST -d a=b "$HTTP/api/v1/thresholds")"
check "/health/active over HTTP goes to the app (502: no app yet), not a 308" 502 "$(status "$HTTP/health/active")"
H=$(heads "$HTTP/health/active")
security_headers "the app's 502 over HTTP" "$H" nohsts
H=$(heads "$HTTP/ca.crt")
contains "/ca.crt over HTTP is served" "HTTP/1.1 200" "$H"
contains "/ca.crt is application/x-x509-ca-cert" "Content-Type: application/x-x509-ca-cert" "$H"
security_headers "/ca.crt over HTTP" "$H" nohsts
check "/ca.crt is the authority's certificate" "$(cat ca.pem)" "$(curl -s "$HTTP/ca.crt")"
H=$(heads -0 -H "Host:" "$HTTP/")
contains "HTTP/1.0 without Host is not foreign: 308" "HTTP/1.1 308" "$H"
contains "… to the first configured name" "Location: https://$NAME:$TLS_PORT/" "$H"
check "HTTP/1.0 /health/active without Host reaches the app" 502 "$(status -0 -H "Host:" "$HTTP/health/active")"

echo "--- foreign Host (DNS rebinding)"
H=$(heads -H "Host: evil.example" "$HTTP/api/v1/chassis")
contains "Host evil.example over HTTP is 421" "HTTP/1.1 421" "$H"
security_headers "the 421 over HTTP" "$H" nohsts
check "Host evil.example:$HTTP_PORT over HTTP is 421" 421 "$(status -H "Host: evil.example:$HTTP_PORT" "$HTTP/health/active")"
check "Host evil.example over HTTP, /ca.crt, is 421" 421 "$(status -H "Host: evil.example" "$HTTP/ca.crt")"
H=$(heads --http1.1 -H "Host: evil.example" "$HTTPS/api/v1/chassis")
contains "Host evil.example over HTTPS (HTTP/1.1) is 421" "HTTP/1.1 421" "$H"
security_headers "the 421 over HTTPS" "$H" hsts
check "Host evil.example over HTTPS (HTTP/2) is 421" 421 "$(status --http2 -H "Host: evil.example" "$HTTPS/")"
check "SNI $NAME but Host evil.example is 421" 421 "$(status -H "Host: evil.example" "https://$NAME:$TLS_PORT/")"
check "a client that checks names refuses https://evil.example (curl exit 60)" 60 \
    "$(curl -s -o /dev/null "${TRUST[@]}" "${RESOLVE[@]}" "https://evil.example:$TLS_PORT/" >/dev/null 2>&1; echo $?)"
check "… and one that does not gets 421" 421 "$(status -k "https://evil.example:$TLS_PORT/")"

echo "--- HTTPS"
check "HTTP/2 is negotiated" 2 "$(curl -s -o /dev/null -w '%{http_version}' "${TRUST[@]}" --http2 "$HTTPS/app.js")"
H=$(heads "$HTTPS/app.js")
contains "a static file over HTTPS by address" "200" "$(printf '%s' "$H" | head -1)"
security_headers "a static file" "$H" hsts
contains "the static CSP is nginx's own" "default-src 'none'" "$H"
H=$(heads "https://$NAME:$TLS_PORT/app.js")
contains "a static file over HTTPS by name (SNI)" "200" "$(printf '%s' "$H" | head -1)"
H=$(heads "$HTTPS/javascript/no-such-file.js")
contains "nginx's own 404" "404" "$(printf '%s' "$H" | head -1)"
security_headers "nginx's 404" "$H" hsts
H=$(heads "$HTTPS/api/v1/chassis")
contains "the app's location without an app is 502" "502" "$(printf '%s' "$H" | head -1)"
security_headers "the 502 over HTTPS" "$H" hsts
H=$(heads "$HTTPS/ca.crt")
contains "/ca.crt over HTTPS" "Content-Type: application/x-x509-ca-cert" "$H"
security_headers "/ca.crt over HTTPS" "$H" hsts
check "TLS 1.2 is accepted" 200 "$(status --tlsv1.2 --tls-max 1.2 "$HTTPS/app.js")"
check "TLS 1.3 is accepted" 200 "$(status --tlsv1.3 "$HTTPS/app.js")"
OUT=$(openssl s_client -connect "$ADDRESS:$TLS_PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null 2>&1)
contains "TLS 1.1 is refused by the server" "alert protocol version" "$OUT"
OUT=$(openssl s_client -connect "$ADDRESS:$TLS_PORT" -tls1_2 -cipher 'AES256-SHA256' </dev/null 2>&1)
contains "a suite without forward secrecy is refused" "handshake failure" "$OUT"

# --- With a stand-in app: the app's own headers pass, nginx fills in only what is missing ------
if command -v python3 >/dev/null 2>&1; then
    echo "--- with a FastCGI stand-in for chassis-web"
    cat > app.py <<'PYTHON'
# A FastCGI responder of a few lines (kept connections, one request at a time per connection):
# /health/active answers JSON without security headers, /page a page with its own, /params
# echoes what nginx passed.
import os, socket, struct, sys, threading

def records(conn):
    buf = b""
    while True:
        while len(buf) < 8:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        _, kind, rid, length, padding, _ = struct.unpack(">BBHHBB", buf[:8])
        while len(buf) < 8 + length + padding:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        yield kind, rid, buf[8:8 + length]
        buf = buf[8 + length + padding:]

def pairs(data):
    out, i = {}, 0
    def size():
        nonlocal i
        if data[i] < 128:
            i += 1
            return data[i - 1]
        i += 4
        return struct.unpack(">I", data[i - 4:i])[0] & 0x7FFFFFFF
    while i < len(data):
        n, v = size(), size()
        out[data[i:i + n].decode()] = data[i + n:i + n + v].decode()
        i += n + v
    return out

def record(kind, rid, content=b""):
    return struct.pack(">BBHHBB", 1, kind, rid, len(content), 0, 0) + content

def answer(params):
    uri = params.get("REQUEST_URI", "")
    if uri == "/health/active":
        return b"Status: 200 OK\r\nContent-Type: application/json\r\n\r\n{\"active\":true}\n"
    if uri == "/page":
        return (b"Status: 200 OK\r\nContent-Type: text/html\r\n"
                b"Content-Security-Policy: default-src 'self'; connect-src 'self' https://127.0.1.2:8443; frame-ancestors 'none'\r\n"
                b"Referrer-Policy: no-referrer\r\nX-Content-Type-Options: nosniff\r\n\r\n<!DOCTYPE html><p>page</p>\n")
    if uri == "/params":
        body = "HTTPS=%s HTTP_HOST=%s\n" % (params.get("HTTPS", ""), params.get("HTTP_HOST", ""))
        return b"Content-Type: text/plain\r\n\r\n" + body.encode()
    return b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnot found\n"

def serve(conn):
    params = b""
    with conn:
        for kind, rid, content in records(conn):
            if kind == 4:
                params += content
            elif kind == 5 and not content:
                conn.sendall(record(6, rid, answer(pairs(params))) + record(6, rid)
                             + record(3, rid, struct.pack(">IB3x", 0, 0)))
                params = b""

path = sys.argv[1]
listener = socket.socket(socket.AF_UNIX)
listener.bind(path)
os.chmod(path, 0o666)
listener.listen(64)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
PYTHON
    python3 app.py "$WORK/run/web.sock" >app.log 2>&1 &
    APP_PID=$!
    for _ in $(seq 100); do [ -S run/web.sock ] && break; sleep 0.05; done
    check "/health/active over plain HTTP answers from the app" 200 "$(status "$HTTP/health/active")"
    H=$(heads "$HTTP/health/active")
    security_headers "the app's JSON over HTTP (nginx's fill-ins)" "$H" nohsts
    H=$(heads "$HTTPS/health/active")
    security_headers "the app's JSON over HTTPS (nginx's fill-ins)" "$H" hsts
    lacks "the fill-in CSP restricts framing only" "default-src" "$H"
    H=$(heads "$HTTPS/page")
    check "a page's Content-Security-Policy is the app's alone" 1 "$(count Content-Security-Policy "$H")"
    contains "… with the members the app listed" "connect-src 'self' https://127.0.1.2:8443" "$H"
    check "one Referrer-Policy, the app's" "referrer-policy: no-referrer" \
        "$(printf '%s' "$H" | tr -d '\r' | grep -i '^Referrer-Policy:' | tr '[:upper:]' '[:lower:]')"
    check "one X-Content-Type-Options" 1 "$(count X-Content-Type-Options "$H")"
    contains "HSTS on the app's page" "Strict-Transport-Security: max-age=31536000" "$H"
    check "the app learns HTTPS and the Host with its port" "HTTPS=on HTTP_HOST=$ADDRESS:$TLS_PORT" \
        "$(curl -s "${TRUST[@]}" "$HTTPS/params" | tr -d '\n')"
    check "an unknown path is the app's 404" 404 "$(status "$HTTPS/no/such/page")"
    check "a foreign Host still never reaches the app" 421 "$(status -H "Host: evil.example" "$HTTPS/health/active")"
    # Logins at a bounded rate per address (30 at once, then one a second); the page itself is not.
    CODES=""
    for _ in $(seq 1 40); do CODES="$CODES $(status -X POST --data 'user=a&password=b' "$HTTPS/login")"; done
    # (the stand-in answers 404 to a path it does not know: such a login reached the app)
    REACHED=$(printf '%s' "$CODES" | tr ' ' '\n' | grep -c '^404$')
    if [ "$REACHED" -ge 30 ] && [ "$REACHED" -le 35 ]; then
        pass "40 logins at once: $REACHED reach the app (the burst of 30, and one a second after it)"
    else
        fail "40 logins at once: $REACHED reached the app, not 30 to 35:$CODES"
    fi
    contains "… and the rest are refused with 429" " 429" "$CODES"
    check "the login page still reaches the app (a GET is not a login)" 404 "$(status "$HTTPS/login")"
    check "a login body over 8 KB is refused" 413 "$(status -X POST --data "user=$(head -c 9000 /dev/zero | tr '\0' a)" "$HTTPS/api/v1/session")"
else
    echo "skipped: the FastCGI stand-in checks (python3 is not installed)"
fi

# The only error expected is the app's socket missing before the stand-in starts.
if grep -E '\[(emerg|alert|crit)\]' prefix/error.log | grep -v 'connect() to unix:.*web.sock failed'; then
    fail "nginx logged errors (above)"
fi
echo
if [ "$FAILURES" -eq 0 ]; then
    echo "every check passed"
    exit 0
fi
echo "$FAILURES check(s) failed"
exit 1
