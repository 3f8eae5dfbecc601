#!/usr/bin/env bash
# Installs the ingress controller of the chosen flavour with exactly the release name, namespace
# and labels that the manifests' NetworkPolicies admit (manifests/README.md), waits for its
# external IP, and checks that its pods carry those labels (for the Gateway flavour, app-routing,
# aks/deploy.sh does both once the overlay's Gateway exists). Re-running with the same chart and
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
knob AKS_RBAC_TIMEOUT 360 "seconds to wait for the cluster to grant this identity the rights the installation needs (a new Azure role assignment takes up to 5 minutes)" seconds
knob AKS_INGRESS_TIMEOUT 10m "how long to wait for the controller and its external IP (minutes, e.g. 10m)" minutes

print_usage() {
  usage "aks/install-ingress.sh [--dry-run] [--host NAME] [-h]" \
"Installs the ingress controller serving IngressClass nginx:
  f5-nginx-ingress  F5 NGINX Ingress Controller, Helm release nginx-ingress in namespace
                    nginx-ingress (default)
  ingress-nginx     community ingress-nginx, Helm release ingress-nginx in namespace
                    ingress-nginx; retired, refused on clusters newer than 1.35
  app-routing       the AKS application routing add-on's Gateway API implementation
                    (GatewayClass approuting-istio) and the managed Gateway API CRDs; the
                    overlay's Gateway btc-price then gets its gateway pods (aks/deploy.sh)
  --host NAME  also install cert-manager, for HTTPS on NAME (aks/deploy.sh --host NAME then
             deploys overlay f5-nginx-ingress-https); same as AKS_HOST
  --dry-run  print the commands that would change something instead of running them; read-only
             queries (az, kubectl get, helm history) still run
  -h         this help"
}

parse_common_args "$@"
[ ${#ARGS[@]} -eq 0 ] || die "unexpected arguments: ${ARGS[*]} (see -h)"
overlay=$(flavour_overlay "$AKS_INGRESS_FLAVOUR")
case $AKS_PLATFORM:$AKS_INGRESS_FLAVOUR in
  kind:app-routing) die "the app routing add-on exists on AKS only" ;;
  kind:*) require_tools kubectl helm jq curl ;;
  aks:app-routing) require_tools az kubectl kubelogin jq ;;
  aks:*) require_tools az kubectl kubelogin helm jq ;;
esac
announce_mode
on_kind || require_az_version
show_settings

# What each flavour installs; where its pods run and the labels its NetworkPolicy admits
# (flavour_controller, aks/lib.sh).
flavour_controller "$AKS_INGRESS_FLAVOUR"
namespace=$CONTROLLER_NAMESPACE service=$CONTROLLER_SERVICE pod_selector=$CONTROLLER_PODS
# What the installation creates in the cluster, asked for by name before the first change
# (wait_for_rights): Helm's --create-namespace, the charts' CRDs (applied server-side: create and
# patch), cluster-wide RBAC and IngressClass, and the namespaced objects.
install_rights=("create namespaces" "create customresourcedefinitions.apiextensions.k8s.io"
  "patch customresourcedefinitions.apiextensions.k8s.io" "create clusterroles.rbac.authorization.k8s.io"
  "create clusterrolebindings.rbac.authorization.k8s.io")
case $AKS_INGRESS_FLAVOUR in
  f5-nginx-ingress)
    release=nginx-ingress
    chart=oci://ghcr.io/nginx/charts/nginx-ingress chart_version=$AKS_F5_CHART_VERSION repo_args=()
    values=aks/ingress/f5-nginx-ingress.values.yaml
    install_rights+=("create ingressclasses.networking.k8s.io" "create deployments.apps $namespace"
      "create services $namespace" "create serviceaccounts $namespace" "create configmaps $namespace"
      "create roles.rbac.authorization.k8s.io $namespace" "create rolebindings.rbac.authorization.k8s.io $namespace")
    ;;
  ingress-nginx)
    release=ingress-nginx
    chart=ingress-nginx chart_version=$AKS_INGRESS_NGINX_CHART_VERSION
    repo_args=(--repo https://kubernetes.github.io/ingress-nginx)
    values=aks/ingress/ingress-nginx.values.yaml
    install_rights+=("create ingressclasses.networking.k8s.io"
      "create validatingwebhookconfigurations.admissionregistration.k8s.io" "create deployments.apps $namespace"
      "create services $namespace" "create serviceaccounts $namespace" "create configmaps $namespace"
      "create jobs.batch $namespace" "create roles.rbac.authorization.k8s.io $namespace"
      "create rolebindings.rbac.authorization.k8s.io $namespace")
    ;;
  app-routing)
    # The add-on is enabled through Azure; in the cluster this script only reads its GatewayClass.
    install_rights=("get gatewayclasses.gateway.networking.k8s.io")
    ;;
esac
if [ -n "$AKS_HOST" ]; then
  # cert-manager's chart: its namespace, CRDs, webhooks, RBAC, Deployments and startup Job.
  install_rights+=("create mutatingwebhookconfigurations.admissionregistration.k8s.io"
    "create validatingwebhookconfigurations.admissionregistration.k8s.io" "create deployments.apps cert-manager"
    "create jobs.batch cert-manager" "create roles.rbac.authorization.k8s.io cert-manager")
fi
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
# (learn.microsoft.com/azure/aks/manage-azure-rbac): until then every apply gets 403.
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
  # The add-on's Gateway API implementation (an Istio control plane in aks-istio-system that only
  # manages Gateways of class approuting-istio) needs the managed Gateway API CRDs, whose bundle
  # follows the cluster's minor (v1.3.0 on 1.34, v1.4.1 on 1.35, v1.5.1 from 1.36); both need
  # azure-cli 2.86.0 or later (learn.microsoft.com/azure/aks/app-routing-gateway-api,
  # managed-gateway-api). The add-on's NGINX (Ingress) is not used: its support ended in November 2026.
  step "Application routing: Gateway API implementation and managed Gateway API CRDs"
  enabled=$(query az aks show --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_CLUSTER_NAME" \
    --query "{gatewayApi: ingressProfile.gatewayApi.installation, appRoutingIstio: ingressProfile.webAppRouting.gatewayApiImplementations.appRoutingIstio.mode}" \
    --output json)
  note "found: $(jq -c . <<<"$enabled")"
  enable_args=()
  [ "$(jq -r '.gatewayApi' <<<"$enabled")" = Standard ] || enable_args+=(--enable-gateway-api)
  [ "$(jq -r '.appRoutingIstio' <<<"$enabled")" = Enabled ] || enable_args+=(--enable-app-routing-istio)
  if [ ${#enable_args[@]} -eq 0 ]; then
    note "both enabled, unchanged"
  else
    run az aks update --resource-group "$AKS_RESOURCE_GROUP" --name "$AKS_CLUSTER_NAME" "${enable_args[@]}"
  fi

  step "GatewayClass approuting-istio"
  deadline=$((SECONDS + ${AKS_INGRESS_TIMEOUT%m} * 60))
  while :; do
    class=$(kq get gatewayclass approuting-istio --output name 2>/dev/null) || class=""
    if [ -n "$class" ] || [ "$DRY_RUN" = true ] || [ "$SECONDS" -ge "$deadline" ]; then break; fi
    sleep 10
  done
  if [ -n "$class" ]; then
    note "$class exists"
  elif [ "$DRY_RUN" = true ]; then
    note "dry run: the add-on creates it once enabled"
  else
    die "GatewayClass approuting-istio did not appear within $AKS_INGRESS_TIMEOUT of enabling the add-on's Gateway API implementation"
  fi
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

if [ -n "$GATEWAY" ]; then
  note "next: aks/deploy.sh (AKS_INGRESS_FLAVOUR=$AKS_INGRESS_FLAVOUR deploys overlay $overlay; its Gateway $GATEWAY gets gateway pods $pod_selector and Service $service in $namespace, whose labels and address deploy.sh checks)"
  exit 0
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
