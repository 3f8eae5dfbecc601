# shellcheck shell=bash
# HTTPS of the F5 flavour for aks/deploy.sh (sourced by lib.sh, never run): the host patched into
# the overlay, a deploy without a host refused where the cluster serves HTTPS, the redirect and
# HSTS checked, and public DNS resolving the host to the controller's address.

# https_patches HOST: the kustomization patches that put HOST on every Ingress, the TLS section and
# the Certificate of the HTTPS overlay (manifests/components/https).
https_patches() {
  echo "  - target:"
  echo "      kind: Ingress"
  echo "    patch: '[{\"op\": \"replace\", \"path\": \"/spec/rules/0/host\", \"value\": \"$1\"}]'"
  echo "  - target:"
  echo "      kind: Ingress"
  echo "      name: btc-price-master"
  echo "    patch: '[{\"op\": \"replace\", \"path\": \"/spec/tls/0/hosts/0\", \"value\": \"$1\"}]'"
  echo "  - target:"
  echo "      kind: Certificate"
  echo "      name: btc-price-tls"
  echo "    patch: '[{\"op\": \"replace\", \"path\": \"/spec/dnsNames/0\", \"value\": \"$1\"}]'"
}

# keep_https REMOVE: stops a deploy without a host on a cluster that serves HTTPS (the TLS section
# of Ingress service-a/btc-price-master, or the Certificate btc-price-tls): the plain overlay would
# remove TLS, the redirect and HSTS without an error, and browsers that saw HSTS (a year) could no
# longer reach the site. REMOVE=true (--remove-https) lets it go on. The Ingress is readable by
# every deployer (manifests/base/deployer); an error reading it stops the deploy, since HTTPS cannot
# be ruled out. The Certificate's kind exists only with cert-manager, and only the HTTPS overlay's
# deployer may read it: when it cannot be read, the Ingress decides.
keep_https() {
  local tls certificate errors
  [ -z "$AKS_HOST" ] || return 0
  if [ "$KUBE_READY" != true ]; then
    note "dry run: whether the cluster serves HTTPS is checked once the credentials exist"
    return 0
  fi
  tls=$(kq get ingress btc-price-master --namespace service-a --ignore-not-found \
    --output 'jsonpath={.spec.tls[*].hosts[*]}') \
    || die "cannot read Ingress service-a/btc-price-master, so a deploy without a host could remove HTTPS; see the error above"
  errors=$(mktemp)
  if ! certificate=$(kq get certificates.cert-manager.io btc-price-tls --namespace service-a --ignore-not-found \
      --output 'jsonpath={.spec.dnsNames[*]}' 2>"$errors"); then
    note "Certificate service-a/btc-price-tls not readable ($(head -n 1 "$errors")): the Ingress decides"
    certificate=""
  fi
  rm -f "$errors"
  if [ -z "$tls$certificate" ]; then
    note "the cluster serves no HTTPS (no TLS on Ingress service-a/btc-price-master, no Certificate btc-price-tls): plain overlay"
    return 0
  fi
  local served=${tls:-$certificate}
  if [ "$1" = true ]; then
    note "WARNING: the cluster serves HTTPS for $served; --remove-https: the plain overlay removes TLS, the redirect and HSTS"
    return 0
  fi
  die "the cluster serves HTTPS for $served (${tls:+TLS on Ingress service-a/btc-price-master}${tls:+${certificate:+, }}${certificate:+Certificate service-a/btc-price-tls}), but no host was given: this deploy would apply the plain overlay and remove TLS, the HTTP->HTTPS redirect and HSTS, and browsers that saw HSTS could no longer reach the site. Deploy with --host ${served%% *} (or AKS_HOST; in the pipeline, the repository variable AKS_HOST), or pass --remove-https to remove HTTPS on purpose"
}

# https_checks CURL_ARG...: HTTP answers with a redirect to HTTPS, and HTTPS with HSTS (CURL_ARG:
# the --resolve arguments that send the host to the controller).
https_checks() {
  local redirect
  show_command '?' curl --silent --show-error --max-time 5 --output /dev/null --write-out '%{http_code} %{redirect_url}' \
    "$@" "http://$AKS_HOST/service1/current"
  note "expect 301 https://$AKS_HOST:443/service1/current"
  show_command '?' curl --fail --silent --show-error --max-time 5 --head "$@" "https://$AKS_HOST/service1/current"
  note "expect a Strict-Transport-Security header with max-age=31536000"
  [ "$DRY_RUN" != true ] || return 0
  redirect=$(curl --silent --show-error --max-time 5 --output /dev/null --write-out '%{http_code} %{redirect_url}' \
    "$@" "http://$AKS_HOST/service1/current")
  [ "$redirect" = "301 https://$AKS_HOST:443/service1/current" ] || die "HTTP is not redirected to HTTPS: $redirect"
  curl --fail --silent --show-error --max-time 5 --head "$@" "https://$AKS_HOST/service1/current" \
    | grep -qi '^strict-transport-security: max-age=31536000' || die "no HSTS header on https://$AKS_HOST/service1/current"
  note "HTTP redirects to HTTPS; HTTPS sends HSTS"
}

# Public resolvers asked over HTTPS with their JSON API (the schema Google defined and Cloudflare
# follows: Status, Answer[].type 1 = A, Answer[].data), so the answer is public DNS's, not this
# machine's (its resolver, caches and hosts file).
PUBLIC_DNS=("https://dns.google/resolve" "https://cloudflare-dns.com/dns-query")

# public_addresses HOST: HOST's A records in public DNS, one per line (none: not in DNS); fails
# when no public resolver answered.
public_addresses() {
  local resolver answer
  for resolver in "${PUBLIC_DNS[@]}"; do
    answer=$(query curl --fail --silent --show-error --max-time 5 --header 'accept: application/dns-json' \
      "$resolver?name=$1&type=A" 2>/dev/null) || continue
    jq -e '.Status | type == "number"' <<<"$answer" >/dev/null 2>&1 || continue
    jq -r '.Answer // [] | .[] | select(.type == 1) | .data' <<<"$answer"
    return 0
  done
  return 1
}

# check_public_dns HOST ADDRESS: public DNS resolves HOST to ADDRESS, the controller's, and to no
# other address, waiting up to AKS_SMOKE_TIMEOUT for a new record to propagate. The smoke tests
# send HOST to ADDRESS themselves (curl --resolve), so they pass with a stale or missing record
# while users fail, and the certificate's renewal (HTTP-01 through DNS) would fail later.
# AKS_CHECK_DNS=warn only warns; no public resolver answering is a warning.
check_public_dns() {
  local host=$1 address=$2 found until=$((SECONDS + AKS_SMOKE_TIMEOUT))
  show_command '?' curl --fail --silent --show-error --max-time 5 --header 'accept: application/dns-json' \
    "${PUBLIC_DNS[0]}?name=$host&type=A"
  note "expect public DNS to resolve $host to $address only (A record)"
  [ "$DRY_RUN" != true ] || return 0
  while :; do
    if ! found=$(public_addresses "$host"); then
      note "WARNING: no public resolver answered (${PUBLIC_DNS[*]}): could not check that $host resolves to $address"
      return 0
    fi
    [ "$(sort -u <<<"$found" | paste -sd ' ')" != "$address" ] || { note "public DNS: $host -> $address"; return 0; }
    [ "$SECONDS" -lt "$until" ] || break
    sleep 10
  done
  local shown=${found//$'\n'/ }
  local problem="public DNS resolves $host to ${shown:-nothing (no A record)}, not only to $address, the controller's address: users go elsewhere, and the certificate cannot be renewed; point the A record of $host at $address"
  if [ "$AKS_CHECK_DNS" = warn ]; then note "WARNING: $problem"; return 0; fi
  die "$problem (or AKS_CHECK_DNS=warn)"
}
