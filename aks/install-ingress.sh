#!/usr/bin/env bash
# Installs the ingress controller of the chosen flavour with exactly the release name, namespace
# and labels that the manifests' NetworkPolicies admit (manifests/README.md), waits for its
# external IP, and checks that its pods carry those labels. Re-running with the same chart and
# values changes nothing.
set -euo pipefail
# shellcheck source=aks/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

declare_azure_knobs
declare_registry_knob
declare_kube_knobs
# Published versions only: chart 2.6.4 is F5's release of controller 5.5.4 (tag v5.5.4 of
# github.com/nginx/kubernetes-ingress, charts/nginx-ingress/Chart.yaml); chart 4.15.1 is the
# community controller 1.15.1 (tag helm-chart-4.15.1 of github.com/kubernetes/ingress-nginx).
# Either is checked with `helm show chart` before anything changes.
knob AKS_F5_CHART_VERSION 2.6.4 "chart version of F5's nginx-ingress (controller 5.5.4)"
knob AKS_INGRESS_NGINX_CHART_VERSION 4.15.1 "chart version of the community ingress-nginx (controller 1.15.1, Kubernetes <= 1.35)"
# cert-manager v1.21.1 (tag of github.com/cert-manager/cert-manager, 2026-07-29), for AKS_HOST.
knob AKS_CERT_MANAGER_CHART_VERSION v1.21.1 "chart version of cert-manager, installed when AKS_HOST is set (HTTPS)"
knob AKS_RBAC_TIMEOUT 360 "seconds to wait for the cluster to grant this identity cluster-admin rights (a new Azure role assignment takes up to 5 minutes)"
knob AKS_INGRESS_TIMEOUT 10m "how long to wait for the controller and its external IP (minutes, e.g. 10m)"

print_usage() {
  usage "aks/install-ingress.sh [--dry-run] [--host NAME] [-h]" \
"Installs the ingress controller serving IngressClass nginx:
  f5-nginx-ingress  F5 NGINX Ingress Controller, Helm release nginx-ingress in namespace
                    nginx-ingress (default)
  ingress-nginx     community ingress-nginx, Helm release ingress-nginx in namespace
                    ingress-nginx; retired, refused on clusters newer than 1.35
  app-routing       the AKS application routing add-on with the NginxIngressController of
                    manifests/controllers/app-routing-nginx.yaml; its NGINX is supported only
                    through November 2026 (aks/README.md)
  --host NAME  also install cert-manager, for HTTPS on NAME (aks/deploy.sh --host NAME then
             deploys overlay f5-nginx-ingress-https); same as AKS_HOST
  --dry-run  print the commands that would change something instead of running them; read-only
             queries (az, kubectl get, helm history) still run
  -h         this help"
}

parse_common_args "$@"
[ ${#ARGS[@]} -eq 0 ] || die "unexpected arguments: ${ARGS[*]} (see -h)"
[[ $AKS_RBAC_TIMEOUT =~ ^[0-9]+$ ]] || die "AKS_RBAC_TIMEOUT must be seconds (got '$AKS_RBAC_TIMEOUT')"
[[ $AKS_INGRESS_TIMEOUT =~ ^[0-9]+m$ ]] || die "AKS_INGRESS_TIMEOUT must be minutes, e.g. 10m (got '$AKS_INGRESS_TIMEOUT')"
overlay=$(flavour_overlay "$AKS_INGRESS_FLAVOUR")
case $AKS_PLATFORM:$AKS_INGRESS_FLAVOUR in
  kind:app-routing) die "the app routing add-on exists on AKS only" ;;
  kind:*) require_tools kubectl helm jq curl ;;
  aks:app-routing) require_tools az kubectl kubelogin jq ;;
  aks:*) require_tools az kubectl kubelogin helm jq ;;
esac
announce_mode
show_settings

# What each flavour installs, and the labels its NetworkPolicy admits (manifests/components/*).
case $AKS_INGRESS_FLAVOUR in
  f5-nginx-ingress)
    release=nginx-ingress namespace=nginx-ingress
    chart=oci://ghcr.io/nginx/charts/nginx-ingress chart_version=$AKS_F5_CHART_VERSION repo_args=()
    values=aks/ingress/f5-nginx-ingress.values.yaml
    service=nginx-ingress-controller
    pod_selector=app.kubernetes.io/instance=nginx-ingress,app.kubernetes.io/name=nginx-ingress
    ;;
  ingress-nginx)
    release=ingress-nginx namespace=ingress-nginx
    chart=ingress-nginx chart_version=$AKS_INGRESS_NGINX_CHART_VERSION
    repo_args=(--repo https://kubernetes.github.io/ingress-nginx)
    values=aks/ingress/ingress-nginx.values.yaml
    service=ingress-nginx-controller
    pod_selector=app.kubernetes.io/component=controller,app.kubernetes.io/instance=ingress-nginx,app.kubernetes.io/name=ingress-nginx
    ;;
  app-routing)
    namespace=app-routing-system
    service=btc-price-nginx-0
    pod_selector=app=btc-price-nginx-0,app.kubernetes.io/component=ingress-controller,app.kubernetes.io/managed-by=aks-app-routing-operator
    ;;
esac
note "flavour $AKS_INGRESS_FLAVOUR: deploy afterwards with overlay manifests/overlays/$overlay"

CERT_MANAGER_CHART=oci://quay.io/jetstack/charts/cert-manager

# published_chart CHART VERSION [ARG...]: Chart.yaml of that published chart version; stops the
# script, before anything changes, if it is not published (it would fail half-way).
published_chart() {
  local chart_yaml
  chart_yaml=$(query helm show chart "$1" "${@:3}" --version "$2" 2>&1) \
    || die "chart $1 version $2 is not published (helm show chart: $(tail -n 1 <<<"$chart_yaml")); set a published version (aks/install-ingress.sh -h)"
  note "published: $(sed -n 's/^\(version\|appVersion\): *\(.*\)/\1 \2/p' <<<"$chart_yaml" | paste -sd ' ')"
  printf '%s' "$chart_yaml"
}

if [ -n "$AKS_HOST" ]; then
  step "Chart $CERT_MANAGER_CHART $AKS_CERT_MANAGER_CHART_VERSION is published"
  published_chart "$CERT_MANAGER_CHART" "$AKS_CERT_MANAGER_CHART_VERSION" >/dev/null
fi
if [ "$AKS_INGRESS_FLAVOUR" != app-routing ]; then
  step "Chart $chart $chart_version is published"
  if chart_yaml=$(published_chart "$chart" "$chart_version" "${repo_args[@]}"); then
    if [ "$AKS_INGRESS_FLAVOUR" = f5-nginx-ingress ]; then
      # The controller image is the registry's copy, so it must be the one this chart was made for.
      app_version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' <<<"$chart_yaml")
      listed=$(third_party_field f5-controller 3)
      [ "$app_version" = "${listed##*:}" ] \
        || die "chart $chart_version is controller $app_version, but aks/third-party-images.txt copies $listed: change both together"
    fi
  else
    exit 1
  fi
fi

step "kubectl context"
ensure_kube_context

step "Cluster access"
# create-cluster.sh has just assigned the cluster-admin role, and "new role assignments can take
# up to five minutes to propagate and be updated by the authorization server"
# (learn.microsoft.com/azure/aks/manage-azure-rbac): until then every apply gets 403. Everything
# below (a namespace, CRDs, cluster roles) needs cluster admin.
wait_for_rights "$AKS_RBAC_TIMEOUT" "${install_rights[@]}"

step "Cluster version"
minor=$(server_minor_version)
if [ -z "$minor" ]; then
  note "unknown until the credentials exist (dry run); checked when run for real"
else
  note "Kubernetes 1.$minor"
  if [ "$AKS_INGRESS_FLAVOUR" = ingress-nginx ] && [ "$minor" -gt 35 ]; then
    die "ingress-nginx is retired and its last release supports Kubernetes up to 1.35; this cluster runs 1.$minor: use AKS_INGRESS_FLAVOUR=f5-nginx-ingress"
  fi
fi

if [ "$AKS_INGRESS_FLAVOUR" = app-routing ]; then
  step "Application routing add-on"
  note "WARNING: the add-on's NGINX gets security patches only through November 2026; move to a Gateway API implementation (overlay gateway-fabric, aks/README.md)"
  enabled=$(query az aks show --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_CLUSTER_NAME" \
    --query "ingressProfile.webAppRouting.enabled" --output tsv)
  if [ "$enabled" = true ]; then
    note "enabled, unchanged"
  else
    run az aks approuting enable --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_CLUSTER_NAME"
  fi

  step "NginxIngressController btc-price-nginx (IngressClass nginx)"
  # kubectl apply leaves an unchanged object unchanged.
  kubectl_run apply -f manifests/controllers/app-routing-nginx.yaml
else
  image_args=()
  if [ "$AKS_INGRESS_FLAVOUR" = f5-nginx-ingress ]; then
    # F5's chart pulls nginx/nginx-ingress from Docker Hub by default: the registry's copy instead,
    # by digest (controller.image.digest takes precedence over the tag, chart values.yaml).
    step "Controller image: the registry's copy"
    on_kind || resolve_acr_name
    login_server=$(registry_login_server)
    controller_image=$(third_party_ref f5-controller "$login_server")
    note "controller image $controller_image"
    image_args=(--set "controller.image.repository=${controller_image%@*}" --set "controller.image.digest=${controller_image#*@}")
  fi
  step "Helm release $release (chart $chart $chart_version) in namespace $namespace"
  note "values ($values):"
  sed -e '/^[[:space:]]*#/d' -e 's/^/#   /' "$values" >&3
  fingerprint="chart=$chart_version values-sha256=$(sha256 "$values" | cut -c1-16)${controller_image:+ image=${controller_image#*@}}"
  if release_current "$release" "$namespace" "$fingerprint"; then
    note "installed with this chart version and these values, unchanged"
  else
    if [ "$AKS_INGRESS_FLAVOUR" = f5-nginx-ingress ]; then
      # Helm installs a chart's CRDs on the first install but never upgrades them: F5's upgrade
      # guide applies the new chart's CRDs first (docs.nginx.com/nginx-ingress-controller/install/upgrade).
      chart_dir=$(mktemp -d)
      trap 'rm -rf "$chart_dir"' EXIT
      run helm pull "$chart" --version "$chart_version" --untar --destination "$chart_dir"
      kubectl_run apply --server-side --force-conflicts --filename "$chart_dir/nginx-ingress/crds/"
    fi
    run helm --kube-context "$AKS_KUBE_CONTEXT" upgrade "$release" "$chart" \
      --install \
      "${repo_args[@]}" \
      --version "$chart_version" \
      --namespace "$namespace" \
      --create-namespace \
      --values "$values" \
      "${image_args[@]}" \
      --description "$fingerprint" \
      --wait \
      --timeout "$AKS_INGRESS_TIMEOUT"
  fi
fi

if [ -n "$AKS_HOST" ]; then
  # cert-manager issues the Let's Encrypt certificate of AKS_HOST (manifests/components/https).
  # Its images come from quay.io, which has no anonymous pull limit like Docker Hub's.
  step "cert-manager $AKS_CERT_MANAGER_CHART_VERSION in namespace cert-manager (HTTPS for $AKS_HOST)"
  fingerprint="chart=$AKS_CERT_MANAGER_CHART_VERSION crds=enabled"
  if release_current cert-manager cert-manager "$fingerprint"; then
    note "installed with this chart version, unchanged"
  else
    run helm --kube-context "$AKS_KUBE_CONTEXT" upgrade cert-manager "$CERT_MANAGER_CHART" \
      --install \
      --version "$AKS_CERT_MANAGER_CHART_VERSION" \
      --namespace cert-manager \
      --create-namespace \
      --set crds.enabled=true \
      --description "$fingerprint" \
      --wait \
      --timeout "$AKS_INGRESS_TIMEOUT"
  fi
fi

step "External IP of Service $service in $namespace"
ip=""
deadline=$((SECONDS + ${AKS_INGRESS_TIMEOUT%m} * 60))
while :; do
  ip=$(kq get service "$service" --namespace "$namespace" \
    --output 'jsonpath={.status.loadBalancer.ingress[0].ip}' 2>/dev/null) || ip=""
  if [ -n "$ip" ] || [ "$DRY_RUN" = true ] || [ "$SECONDS" -ge "$deadline" ]; then break; fi
  sleep 10
done
if [ -n "$ip" ]; then
  note "external IP: $ip"
elif [ "$DRY_RUN" = true ]; then
  note "dry run: the IP is known once the controller's Service exists"
else
  die "Service $namespace/$service got no external IP within $AKS_INGRESS_TIMEOUT"
fi

step "Controller pods carry the labels the NetworkPolicies admit"
note "NetworkPolicy peer (manifests/components/$AKS_INGRESS_FLAVOUR/networkpolicy-peer.yaml): namespace $namespace, pods $pod_selector"
pods=$(kq get pods --namespace "$namespace" --selector "$pod_selector" --output name)
if [ -n "$pods" ]; then
  note "matched: $(tr '\n' ' ' <<<"$pods")"
elif [ "$DRY_RUN" = true ]; then
  note "dry run: checked once the controller runs"
else
  die "no pod in $namespace matches $pod_selector: the NetworkPolicies would refuse the controller's traffic"
fi
class=$(kq get ingressclass nginx --output 'jsonpath={.spec.controller}' 2>/dev/null) || class=""
if [ -n "$class" ]; then
  note "IngressClass nginx: controller $class"
elif [ "$DRY_RUN" != true ]; then
  die "IngressClass nginx does not exist"
fi

if [ -n "$AKS_HOST" ]; then
  note "DNS: point $AKS_HOST (A record) at ${ip:-the external IP above}; Let's Encrypt validates it over HTTP"
  note "next: aks/deploy.sh --host $AKS_HOST (deploys overlay $overlay)"
else
  note "next: aks/deploy.sh (AKS_INGRESS_FLAVOUR=$AKS_INGRESS_FLAVOUR deploys overlay $overlay)"
fi
