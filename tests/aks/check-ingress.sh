# shellcheck shell=bash
# Checks of aks/install-ingress.sh for tests/suites/aks.sh, which sources this file and provides
# the helpers (dry, refused, real, order, cmd, has, lacks...).

check_install_ingress() {
  local root=$1
  dry ingress-f5 "$root" FAKE_KUBE_CONTEXT=btc-price-aks install-ingress.sh
  order ingress-f5 '^\? helm show chart oci://ghcr\.io/nginx/charts/nginx-ingress --version 2\.6\.4$' \
    '^# published: version 2\.6\.4 appVersion 5\.5\.4' '^\? kubectl config get-contexts' \
    '^\? kubectl --context btc-price-aks auth can-i create namespaces$' \
    '^\? kubectl --context btc-price-aks auth can-i patch customresourcedefinitions\.apiextensions\.k8s\.io$' \
    '^\? kubectl --context btc-price-aks auth can-i create deployments\.apps --namespace nginx-ingress$' '^# all 12 granted' \
    '^\? kubectl --context btc-price-aks version' \
    '^\? helm --kube-context btc-price-aks history nginx-ingress' \
    '^\+ helm pull' '^\+ kubectl --context btc-price-aks apply' \
    '^\+ helm --kube-context btc-price-aks upgrade' \
    'get service nginx-ingress-controller' '^# NetworkPolicy peer' 'get pods' 'get ingressclass nginx'
  cmd ingress-f5 '^\+ helm --kube-context' 'upgrade nginx-ingress oci://ghcr\.io/nginx/charts/nginx-ingress ' '--install' \
    '--version 2\.6\.4 ' '--namespace nginx-ingress ' '--create-namespace' \
    '--values aks/ingress/f5-nginx-ingress\.values\.yaml' '--wait' \
    "--set controller\\.image\\.repository=$registry/third-party/nginx/nginx-ingress " \
    "--set .controller\\.image\\.digest=sha256:"
  refused ingress-f5-other-controller "$root" "but aks/third-party-images.txt copies ghcr.io/nginx/kubernetes-ingress:5.5.4" \
    FAKE_KUBE_CONTEXT=btc-price-aks FAKE_HELM_APP_VERSION=5.6.0 install-ingress.sh
  # The chart's CRDs are applied before the upgrade: helm never upgrades them.
  cmd ingress-f5 '^\+ helm pull' 'oci://ghcr\.io/nginx/charts/nginx-ingress ' '--version 2\.6\.4 ' '--untar'
  cmd ingress-f5 '^\+ kubectl --context btc-price-aks apply' '--server-side' '--filename /.*/nginx-ingress/crds/$'
  has ingress-f5 '^#   +allowEmptyIngressHost: true$'
  has ingress-f5 '^#   +externalTrafficPolicy: Local$'
  has ingress-f5 '^#   +name: nginx$'
  has ingress-f5 "^# NetworkPolicy peer .*: $(policy_peer "$root" f5-nginx-ingress)\$"
  # It asks for what it is about to do, not '*' '*' (which depends on how the Azure RBAC webhook
  # answers wildcards).
  lacks ingress-f5 "auth can-i .?\\*"


  refused ingress-nginx-136 "$root" "supports Kubernetes up to 1.35" \
    FAKE_KUBE_CONTEXT=btc-price-aks AKS_INGRESS_FLAVOUR=ingress-nginx install-ingress.sh
  dry ingress-nginx-135 "$root" FAKE_KUBE_CONTEXT=btc-price-aks FAKE_SERVER_MINOR=35 AKS_INGRESS_FLAVOUR=ingress-nginx install-ingress.sh
  cmd ingress-nginx-135 '^\+ helm --kube-context' 'upgrade ingress-nginx ingress-nginx ' '--repo https://kubernetes\.github\.io/ingress-nginx' \
    '--version 4\.15\.1 ' '--namespace ingress-nginx ' '--values aks/ingress/ingress-nginx\.values\.yaml'
  has ingress-nginx-135 '^\? helm show chart ingress-nginx --repo https://kubernetes\.github\.io/ingress-nginx --version 4\.15\.1$'
  has ingress-nginx-135 '^#   +service\.beta\.kubernetes\.io/azure-load-balancer-health-probe-request-path: /healthz$'
  lacks ingress-nginx-135 'crds'
  has ingress-nginx-135 "^# NetworkPolicy peer .*: $(policy_peer "$root" ingress-nginx)\$"
}

# A chart that is not published is refused before anything changes.
check_chart_published() {
  local root=$1
  refused ingress-unpublished "$root" "is not published" \
    FAKE_KUBE_CONTEXT=btc-price-aks AKS_F5_CHART_VERSION=2.7.3 install-ingress.sh
  lacks ingress-unpublished '^\+ '
  refused ingress-nginx-unpublished "$root" "is not published" \
    FAKE_KUBE_CONTEXT=btc-price-aks FAKE_SERVER_MINOR=35 AKS_INGRESS_FLAVOUR=ingress-nginx \
    AKS_INGRESS_NGINX_CHART_VERSION=4.99.0 install-ingress.sh
}

# A new role assignment propagates: the script waits (bounded, with progress) before its first
# change, and gives up with a clear message.
check_rbac_wait() {
  local root=$1
  dry ingress-not-admin-yet "$root" FAKE_KUBE_CONTEXT=btc-price-aks FAKE_CAN_ADMIN=no install-ingress.sh
  has ingress-not-admin-yet 'not granted yet: create namespaces; .*a real run waits up to 360 s'
  real ingress-rbac-propagates "$root" FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks FAKE_CAN_ADMIN=no,yes install-ingress.sh
  order ingress-rbac-propagates '^# not granted yet .*create namespaces; .*asking again in 10 s' '^# all 12 granted \(after 1[0-9] s\)'
  first_change ingress-rbac-propagates '^REFUSED helm pull'
  real ingress-rbac-never "$root" FAKE_KUBE_CONTEXT=btc-price-aks FAKE_CAN_ADMIN=no AKS_RBAC_TIMEOUT=0 install-ingress.sh
  has ingress-rbac-never 'still may not create namespaces; create customresourcedefinitions'
  # cert-manager's rights are asked for too when it is installed.
  dry ingress-rbac-https "$root" FAKE_KUBE_CONTEXT=btc-price-aks install-ingress.sh --host btc.example.org
  has ingress-rbac-https '^\? kubectl --context btc-price-aks auth can-i create mutatingwebhookconfigurations\.admissionregistration\.k8s\.io$'
  ! grep '^REFUSED' "$FAKE_LOG" >&2 || { echo "ingress-rbac-never: changed something without the rights" >&2; return 1; }
}

# HTTPS: --host installs cert-manager (published chart, after the controller) and deploys the
# HTTPS overlay with the host pinned everywhere; smoke tests, redirect and HSTS through the host.
check_https() {
  local root=$1
  local common=(FAKE_KUBE_CONTEXT=btc-price-aks "AKS_IMAGE_TAG=$tag" "AKS_DEPLOYER_GROUP_ID=$group_id")
  dry ingress-https "$root" FAKE_KUBE_CONTEXT=btc-price-aks install-ingress.sh --host btc.example.org
  order ingress-https '^\? helm show chart oci://quay\.io/jetstack/charts/cert-manager --version v1\.21\.1$' \
    '^\? helm show chart oci://ghcr\.io/nginx/charts/nginx-ingress' '^\+ helm --kube-context btc-price-aks upgrade nginx-ingress' \
    '^\+ helm --kube-context btc-price-aks upgrade cert-manager' '^# DNS: point btc\.example\.org \(A record\) at 20\.31\.0\.10' \
    '^# next: aks/deploy\.sh --host btc\.example\.org \(deploys overlay f5-nginx-ingress-https\)'
  cmd ingress-https '^\+ helm --kube-context btc-price-aks upgrade cert-manager' 'oci://quay\.io/jetstack/charts/cert-manager ' \
    '--install' '--version v1\.21\.1 ' '--namespace cert-manager ' '--create-namespace' '--set crds\.enabled=true' '--wait'
  refused ingress-https-other-flavour "$root" "built for f5-nginx-ingress only" \
    FAKE_KUBE_CONTEXT=btc-price-aks FAKE_SERVER_MINOR=35 AKS_INGRESS_FLAVOUR=ingress-nginx install-ingress.sh --host btc.example.org
  refused ingress-https-bad-host "$root" "AKS_HOST must be a DNS name" FAKE_KUBE_CONTEXT=btc-price-aks install-ingress.sh --host Not_A_Host
  refused ingress-https-unpublished "$root" "is not published" \
    FAKE_KUBE_CONTEXT=btc-price-aks AKS_CERT_MANAGER_CHART_VERSION=v1.99.0 install-ingress.sh --host btc.example.org
  lacks ingress-https-unpublished '^\+ '

  dry deploy-https "$root" "${common[@]}" deploy.sh --host=btc.example.org
  has deploy-https '^\? kubectl kustomize manifests/overlays/f5-nginx-ingress-https$'
  cmd deploy-https '^\? curl .*https://btc\.example\.org/service1/current$' '--resolve btc\.example\.org:443:20\.31\.0\.10 '
  cmd deploy-https '^\? curl .*https://btc\.example\.org/service2/$' '--resolve btc\.example\.org:443:20\.31\.0\.10 '
  cmd deploy-https '^\? curl .*http://btc\.example\.org/service1/current$' '--write-out .%\{http_code\} %\{redirect_url\}.'
  has deploy-https '^# expect 301 https://btc\.example\.org:443/service1/current$'
  cmd deploy-https '^\? curl .*--head' 'https://btc\.example\.org/service1/current$'
  has deploy-https '^# expect a Strict-Transport-Security header'
  lacks deploy-https 'http://20\.31\.0\.10/service'
}

# Re-run, a cluster whose credentials are not fetched yet, and the app routing add-on.
check_install_ingress_more() {
  local root=$1
  dry ingress-f5-again "$root" FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks FAKE_HELM_DESCRIPTION="$(f5_fingerprint "$root")" install-ingress.sh
  nothing_changes ingress-f5-again

  dry ingress-f5-new-cluster "$root" install-ingress.sh
  order ingress-f5-new-cluster '^\+ az aks get-credentials' '^\+ kubelogin convert-kubeconfig' '^\+ helm'

  # The add-on's Gateway API implementation and the managed Gateway API CRDs, enabled through
  # Azure; the Gateway and its pods come with the overlay (check_deploy_more).
  dry ingress-app-routing "$root" FAKE_KUBE_CONTEXT=btc-price-aks AKS_INGRESS_FLAVOUR=app-routing install-ingress.sh
  order ingress-app-routing '^\? kubectl --context btc-price-aks auth can-i get gatewayclasses\.gateway\.networking\.k8s\.io$' \
    '^\? az aks show' \
    '^\+ az aks update' \
    '^\? kubectl --context btc-price-aks get gatewayclass approuting-istio --output name$' \
    '^# next: aks/deploy\.sh .*overlay app-routing; its Gateway btc-price gets gateway pods'
  cmd ingress-app-routing '^\+ az aks update' '--resource-group btc-price-rg ' '--name btc-price-aks ' \
    '--enable-gateway-api ' '--enable-app-routing-istio$'
  cmd ingress-app-routing '^\? az aks show' 'ingressProfile\.gatewayApi\.installation' \
    'ingressProfile\.webAppRouting\.gatewayApiImplementations\.appRoutingIstio\.mode'
  lacks ingress-app-routing '^\+ (helm|kubectl)'
  lacks ingress-app-routing 'approuting enable|NginxIngressController|app-routing-nginx'
  dry ingress-app-routing-again "$root" FAKE_STATE=present FAKE_KUBE_CONTEXT=btc-price-aks AKS_INGRESS_FLAVOUR=app-routing install-ingress.sh
  nothing_changes ingress-app-routing-again
  has ingress-app-routing-again '^# both enabled, unchanged$'
  refused ingress-app-routing-https "$root" "built for f5-nginx-ingress only" \
    FAKE_KUBE_CONTEXT=btc-price-aks AKS_INGRESS_FLAVOUR=app-routing install-ingress.sh --host btc.example.org
}
