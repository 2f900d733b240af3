package install

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	wscluster "github.com/ws-defaults/ws-defaults/webhook/cluster"
	"github.com/ws-defaults/ws-defaults/webhook/kinds"
	"github.com/ws-defaults/ws-defaults/webhook/metrics"
	"github.com/ws-defaults/ws-defaults/webhook/registration"
)

// valueSets are the configurations every rendering test covers; the
// cluster tests apply each of them with a server-side dry run.
var valueSets = []struct {
	name string
	rel  release
	// want describes the release for the assertions.
	want expect
}{
	{
		name: "defaults",
		rel:  defaultRelease,
		want: expect{fullname: "ws-defaults", replicas: 2, certManager: true, selfSignedCA: true, metrics: true, timeout: 3, port: 9443},
	},
	{
		name: "self-managed certificates",
		rel:  release{name: "ws-defaults", namespace: "ws-defaults", values: "certManager: {enabled: false}\n"},
		want: expect{fullname: "ws-defaults", replicas: 2, metrics: true, timeout: 3, port: 9443},
	},
	{
		name: "monitoring",
		rel: release{name: "ws-defaults", namespace: "ws-defaults", values: `
serviceMonitor: {enabled: true, labels: {release: kube-prometheus-stack}}
grafanaDashboard: {enabled: true}
`},
		want: expect{fullname: "ws-defaults", replicas: 2, certManager: true, selfSignedCA: true, metrics: true, monitoring: true, timeout: 3, port: 9443},
	},
	{
		name: "custom namespace, exclusions and issuer",
		rel: release{name: "edge", namespace: "platform-system", values: `
excludedNamespaces: [legacy, team-b]
replicaCount: 3
webhook: {timeoutSeconds: 5, port: 10443}
certManager: {issuerRef: {kind: ClusterIssuer, name: internal-ca, group: cert-manager.io}}
networkPolicy:
  webhook:
    from: [{ipBlock: {cidr: 10.0.0.0/24}}]
`},
		want: expect{fullname: "edge-ws-defaults", replicas: 3, certManager: true, metrics: true, timeout: 5, port: 10443,
			excluded: []string{"legacy", "team-b"}, webhookFrom: true},
	},
	{
		name: "minimal",
		rel: release{name: "ws-defaults", namespace: "ws-defaults", values: `
replicaCount: 1
metrics: {enabled: false}
networkPolicy: {enabled: false}
podDisruptionBudget: {enabled: false}
leaderElection: {enabled: false}
`},
		want: expect{fullname: "ws-defaults", replicas: 1, certManager: true, selfSignedCA: true, timeout: 3, port: 9443,
			noNetworkPolicy: true, noPDB: true, noLeaderElection: true},
	},
}

type expect struct {
	fullname                  string
	replicas                  int32
	certManager, selfSignedCA bool
	metrics, monitoring       bool
	timeout                   int32
	port                      int32
	excluded                  []string
	webhookFrom               bool
	noNetworkPolicy, noPDB    bool
	noLeaderElection          bool
}

func TestHelmLint(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			args := []string{"lint", "--strict", "charts/ws-defaults", "--namespace", vs.rel.namespace}
			if vs.rel.values != "" {
				args = append(args, "--values", valuesFile(t, vs.rel.values))
			}
			if out, err := execIn(context.Background(), nil, tool(t, "helm"), args...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

func TestTemplate(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			m := helmTemplate(t, vs.rel)
			checkRelease(t, vs.rel, vs.want, m)
		})
	}
}

// checkRelease holds every assertion on one rendered release.
func checkRelease(t *testing.T, r release, w expect, m manifest) {
	t.Helper()
	m.byKey(t) // no duplicates
	for _, u := range m {
		if ns := u.GetNamespace(); ns != "" && ns != r.namespace {
			t.Errorf("%s: namespace %q, want the release namespace %q", key(u), ns, r.namespace)
		}
	}
	wantKinds := []string{"ClusterRole", "ClusterRoleBinding", "Deployment", "MutatingWebhookConfiguration", "Role", "RoleBinding", "Service", "ServiceAccount", "ValidatingWebhookConfiguration"}
	if !w.noNetworkPolicy {
		wantKinds = append(wantKinds, "NetworkPolicy")
	}
	if !w.noPDB {
		wantKinds = append(wantKinds, "PodDisruptionBudget")
	}
	switch {
	case w.certManager && w.selfSignedCA:
		wantKinds = append(wantKinds, "Certificate", "Certificate", "Issuer", "Issuer")
	case w.certManager:
		wantKinds = append(wantKinds, "Certificate")
	default:
		wantKinds = append(wantKinds, "Secret")
	}
	if w.monitoring {
		wantKinds = append(wantKinds, "ServiceMonitor", "ConfigMap")
	}
	sort.Strings(wantKinds)
	if got := m.kinds(); !slices.Equal(got, wantKinds) {
		t.Errorf("kinds:\n got %v\nwant %v", got, wantKinds)
	}

	dep := typed[appsv1.Deployment](t, m.one(t, "Deployment"))
	svc := typed[corev1.Service](t, m.one(t, "Service"))
	sa := m.one(t, "ServiceAccount")
	checkDeployment(t, r, w, dep, sa.GetName())
	checkService(t, w, svc, dep)
	secret := checkCertificates(t, r, w, m, svc)
	checkVolume(t, dep, secret)
	checkArgs(t, w, dep, secret, svc.Name)
	checkWebhooks(t, r, w, m, svc)
	checkRBAC(t, r, w, m, sa.GetName(), secret)
	if !w.noPDB {
		pdb := typed[policyv1.PodDisruptionBudget](t, m.one(t, "PodDisruptionBudget"))
		if !equality.Semantic.DeepEqual(pdb.Spec.Selector, dep.Spec.Selector) {
			t.Errorf("PodDisruptionBudget selector %v, want the Deployment's %v", pdb.Spec.Selector, dep.Spec.Selector)
		}
		if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) {
			t.Errorf("PodDisruptionBudget maxUnavailable %v, want 1", pdb.Spec.MaxUnavailable)
		}
	}
	if !w.noNetworkPolicy {
		checkNetworkPolicy(t, w, typed[networkingv1.NetworkPolicy](t, m.one(t, "NetworkPolicy")), dep)
	}
	if w.monitoring {
		checkMonitoring(t, m, svc)
	}
}

func checkDeployment(t *testing.T, r release, w expect, dep *appsv1.Deployment, serviceAccount string) {
	t.Helper()
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != w.replicas {
		t.Errorf("replicas %v, want %d", dep.Spec.Replicas, w.replicas)
	}
	if ru := dep.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update must keep every replica until its successor is ready: %+v", ru)
	}
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("Deployment selector %v does not match its pod labels %v", dep.Spec.Selector, dep.Spec.Template.Labels)
	}
	pod := dep.Spec.Template.Spec
	if pod.ServiceAccountName != serviceAccount {
		t.Errorf("serviceAccountName %q, want %q", pod.ServiceAccountName, serviceAccount)
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext must set runAsNonRoot and seccomp RuntimeDefault: %+v", psc)
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds <= 25 {
		t.Errorf("terminationGracePeriodSeconds %v must exceed --graceful-shutdown-timeout (25s)", pod.TerminationGracePeriodSeconds)
	}
	if len(pod.TopologySpreadConstraints) == 0 {
		t.Error("no topologySpreadConstraints")
	}
	for _, c := range pod.TopologySpreadConstraints {
		s, _ := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if s == nil || !s.Matches(labels.Set(dep.Spec.Template.Labels)) {
			t.Errorf("topology spread on %s does not select the pods", c.TopologyKey)
		}
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("container has no securityContext")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("container: runAsNonRoot not set")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("container: readOnlyRootFilesystem not set")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("container: allowPrivilegeEscalation not false")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("container: capabilities %+v, want drop [ALL] and no add", sc.Capabilities)
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("container: seccomp not RuntimeDefault")
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("container: privileged")
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[res]; !ok {
			t.Errorf("no %s request", res)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("no memory limit")
	}
	var podNamespace bool
	for _, e := range c.Env {
		if e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace" {
			podNamespace = true
		}
	}
	if !podNamespace {
		t.Error("POD_NAMESPACE is not set from metadata.namespace")
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["webhook"] != w.port {
		t.Errorf("container port webhook = %d, want %d", ports["webhook"], w.port)
	}
	if _, has := ports["metrics"]; has != w.metrics {
		t.Errorf("metrics port present = %v, want %v", has, w.metrics)
	}
	for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || probe.HTTPGet.Port != intstr.FromString("health") {
			t.Errorf("probe for %s: %+v", path, probe)
		}
	}
	if ports["health"] != 8081 {
		t.Errorf("health port %d, want 8081", ports["health"])
	}
}

func checkService(t *testing.T, w expect, svc *corev1.Service, dep *appsv1.Deployment) {
	t.Helper()
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not match the pods %v", svc.Spec.Selector, dep.Spec.Template.Labels)
	}
	ports := map[string]corev1.ServicePort{}
	for _, p := range svc.Spec.Ports {
		ports[p.Name] = p
	}
	if p := ports["webhook"]; p.Port != 443 || p.TargetPort != intstr.FromString("webhook") {
		t.Errorf("Service port webhook = %+v, want 443 -> container port webhook", p)
	}
	if _, has := ports["metrics"]; has != w.metrics {
		t.Errorf("Service metrics port present = %v, want %v", has, w.metrics)
	}
}

// checkCertificates returns the name of the Secret holding the serving
// certificate.
func checkCertificates(t *testing.T, r release, w expect, m manifest, svc *corev1.Service) string {
	t.Helper()
	if !w.certManager {
		s := typed[corev1.Secret](t, m.one(t, "Secret"))
		if len(s.Data) != 0 || len(s.StringData) != 0 {
			t.Errorf("the self-managed Secret must be rendered empty (the webhook fills it): %v", s.Data)
		}
		for _, kind := range []string{"Certificate", "Issuer"} {
			if m.has(kind) {
				t.Errorf("cert-manager %s rendered with certManager.enabled=false", kind)
			}
		}
		return s.Name
	}
	serving := servingCertificate(t, m)
	spec := serving.Object["spec"].(map[string]any)
	wantDNS := []any{svc.Name + "." + r.namespace + ".svc", svc.Name + "." + r.namespace + ".svc.cluster.local"}
	if !equality.Semantic.DeepEqual(spec["dnsNames"], wantDNS) {
		t.Errorf("serving Certificate dnsNames %v, want %v", spec["dnsNames"], wantDNS)
	}
	issuer := spec["issuerRef"].(map[string]any)
	if w.selfSignedCA {
		// self-signed root -> CA Certificate -> CA Issuer -> serving Certificate
		issuers := map[string]map[string]any{}
		for _, u := range m.all("Issuer") {
			issuers[u.GetName()] = u.Object["spec"].(map[string]any)
		}
		ca, ok := issuers[issuer["name"].(string)]["ca"].(map[string]any)
		if issuer["kind"] != "Issuer" || !ok {
			t.Fatalf("serving Certificate is not issued by the chart's CA Issuer: %v", issuer)
		}
		var caCert map[string]any
		for _, u := range m.all("Certificate") {
			if s := u.Object["spec"].(map[string]any); s["secretName"] == ca["secretName"] {
				caCert = s
			}
		}
		if caCert == nil || caCert["isCA"] != true {
			t.Fatalf("no CA Certificate writes %v", ca["secretName"])
		}
		root := caCert["issuerRef"].(map[string]any)["name"].(string)
		if _, ok := issuers[root]["selfSigned"]; !ok {
			t.Errorf("the CA Certificate is not issued by a selfSigned Issuer: %v", root)
		}
	} else if !w.selfSignedCA && (issuer["kind"] != "ClusterIssuer" || issuer["name"] != "internal-ca") {
		t.Errorf("issuerRef %v, want the configured ClusterIssuer", issuer)
	}
	return spec["secretName"].(string)
}

// servingCertificate is the Certificate that is not a CA.
func servingCertificate(t *testing.T, m manifest) *unstructured.Unstructured {
	t.Helper()
	for _, u := range m.all("Certificate") {
		if isCA, _ := u.Object["spec"].(map[string]any)["isCA"].(bool); !isCA {
			return u
		}
	}
	t.Fatal("no serving Certificate")
	return nil
}

func checkVolume(t *testing.T, dep *appsv1.Deployment, secret string) {
	t.Helper()
	c := dep.Spec.Template.Spec.Containers[0]
	var vol string
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/certs" {
			vol = m.Name
			if !m.ReadOnly {
				t.Error("/certs is not mounted read-only")
			}
		}
	}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Name == vol {
			if v.Secret == nil || v.Secret.SecretName != secret {
				t.Errorf("/certs comes from %+v, want Secret %s", v.VolumeSource, secret)
			}
			return
		}
	}
	t.Errorf("no volume mounted at /certs")
}

func checkArgs(t *testing.T, w expect, dep *appsv1.Deployment, secret, service string) {
	t.Helper()
	args := dep.Spec.Template.Spec.Containers[0].Args
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("args %v must start with serve", args)
	}
	want := []string{"--cert-dir=/certs", fmt.Sprintf("--port=%d", w.port), "--health-probe-bind-address=:8081"}
	if w.metrics {
		want = append(want, "--metrics-bind-address=:8080")
	} else {
		want = append(want, "--metrics-bind-address=0")
	}
	if w.noLeaderElection {
		want = append(want, "--leader-elect=false")
	} else {
		want = append(want, "--leader-elect=true")
	}
	rotation := []string{"--cert-rotation", "--cert-secret-name=" + secret, "--cert-service-name=" + service}
	if !w.certManager {
		want = append(want, rotation...)
	}
	for _, a := range want {
		if !slices.Contains(args, a) {
			t.Errorf("args %v lack %s", args, a)
		}
	}
	if w.certManager && slices.Contains(args, "--cert-rotation") {
		t.Error("--cert-rotation with cert-manager")
	}
}

// checkWebhooks compares the webhook configurations with what
// webhook/registration builds: the chart and the code have one definition.
func checkWebhooks(t *testing.T, r release, w expect, m manifest, svc *corev1.Service) {
	t.Helper()
	o := registration.Options{
		ServiceName: svc.Name, ServiceNamespace: r.namespace, Port: 443,
		ExcludedNamespaces: w.excluded, TimeoutSeconds: w.timeout,
	}
	gotMut := typed[admissionregistrationv1.MutatingWebhookConfiguration](t, m.one(t, "MutatingWebhookConfiguration"))
	gotVal := typed[admissionregistrationv1.ValidatingWebhookConfiguration](t, m.one(t, "ValidatingWebhookConfiguration"))
	wantMut, wantVal := registration.Mutating(o), registration.Validating(o)
	if gotMut.Name != wantMut.Name || gotVal.Name != wantVal.Name {
		t.Errorf("webhook configuration names %s, %s; want %s, %s", gotMut.Name, gotVal.Name, wantMut.Name, wantVal.Name)
	}
	if !equality.Semantic.DeepEqual(gotMut.Webhooks, wantMut.Webhooks) {
		t.Errorf("MutatingWebhookConfiguration differs from webhook/registration:\n%s", diffJSON(gotMut.Webhooks, wantMut.Webhooks))
	}
	if !equality.Semantic.DeepEqual(gotVal.Webhooks, wantVal.Webhooks) {
		t.Errorf("ValidatingWebhookConfiguration differs from webhook/registration:\n%s", diffJSON(gotVal.Webhooks, wantVal.Webhooks))
	}
	for _, meta := range []metav1.ObjectMeta{gotMut.ObjectMeta, gotVal.ObjectMeta} {
		ann, has := meta.Annotations["cert-manager.io/inject-ca-from"]
		switch {
		case w.certManager && ann != r.namespace+"/"+servingCertificate(t, m).GetName():
			t.Errorf("%s: cert-manager.io/inject-ca-from = %q, want <namespace>/<serving Certificate>", meta.Name, ann)
		case !w.certManager && has:
			t.Errorf("%s: CA injection annotation without cert-manager", meta.Name)
		}
	}
}

// diffJSON shows two values as JSON, line by line where they differ.
func diffJSON(got, want any) string {
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	var b strings.Builder
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var a, c string
		if i < len(gl) {
			a = gl[i]
		}
		if i < len(wl) {
			c = wl[i]
		}
		if a != c {
			fmt.Fprintf(&b, "line %d:\n  got:  %s\n  want: %s\n", i+1, a, c)
		}
	}
	return b.String()
}

// rbacRule is one (apiGroup, resource, verb, resourceNames) grant.
type rbacRule struct {
	group, resource, verb, names string
}

func flatten(rules []rbacv1.PolicyRule) []rbacRule {
	var out []rbacRule
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, rbacRule{g, res, v, strings.Join(r.ResourceNames, ",")})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

func grants(specs ...string) []rbacRule {
	var out []rbacRule
	for _, s := range specs {
		f := strings.Split(s, " ")
		for _, v := range strings.Split(f[2], ",") {
			r := rbacRule{group: f[0], resource: f[1], verb: v}
			if f[0] == "core" {
				r.group = ""
			}
			if len(f) > 3 {
				r.names = f[3]
			}
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// checkRBAC pins the exact grants: what the handlers read, leader election,
// and with self-managed certificates one Secret and two webhook
// configurations by name. Anything more fails here first.
func checkRBAC(t *testing.T, r release, w expect, m manifest, serviceAccount, secret string) {
	t.Helper()
	cr := typed[rbacv1.ClusterRole](t, m.one(t, "ClusterRole"))
	role := typed[rbacv1.Role](t, m.one(t, "Role"))
	wantCluster := []string{
		"networking.k8s.io ingressclasses get,list,watch",
		"core namespaces get,list,watch",
		"ws-defaults.io websocketpolicies get,list,watch",
		"ws-defaults.io websocketpolicies/status get,update,patch",
		"openreports.io reports get,list,create,update,delete",
	}
	wantCluster = append(wantCluster, auditedKindGrants()...)
	wantRole := []string{
		"coordination.k8s.io leases create",
		"coordination.k8s.io leases get,update ws-defaults.io",
		"core events create,patch",
	}
	if !w.certManager {
		wantCluster = append(wantCluster,
			"admissionregistration.k8s.io mutatingwebhookconfigurations get,list,watch,update "+registration.MutatingName,
			"admissionregistration.k8s.io validatingwebhookconfigurations get,list,watch,update "+registration.ValidatingName)
		wantRole = append(wantRole, "core secrets get,list,watch,update "+secret)
	}
	if got, want := flatten(cr.Rules), grants(wantCluster...); !slices.Equal(got, want) {
		t.Errorf("ClusterRole grants\n %v\nwant\n %v", got, want)
	}
	if got, want := flatten(role.Rules), grants(wantRole...); !slices.Equal(got, want) {
		t.Errorf("Role grants\n %v\nwant\n %v", got, want)
	}
	for _, rule := range append(flatten(cr.Rules), flatten(role.Rules)...) {
		if strings.Contains(rule.group+rule.resource+rule.verb+rule.names, "*") {
			t.Errorf("wildcard grant: %+v", rule)
		}
		if rule.resource == "secrets" && rule.names != secret {
			t.Errorf("Secret access beyond the webhook's own certificate: %+v", rule)
		}
		if rule.verb == "escalate" || rule.verb == "bind" || rule.verb == "impersonate" || rule.verb == "deletecollection" ||
			(rule.verb == "delete" && !(rule.group == "openreports.io" && rule.resource == "reports")) {
			t.Errorf("needless verb: %+v", rule)
		}
	}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: serviceAccount, Namespace: r.namespace}}
	crb := typed[rbacv1.ClusterRoleBinding](t, m.one(t, "ClusterRoleBinding"))
	rb := typed[rbacv1.RoleBinding](t, m.one(t, "RoleBinding"))
	if crb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: cr.Name}) || !equality.Semantic.DeepEqual(crb.Subjects, subject) {
		t.Errorf("ClusterRoleBinding %+v %+v does not bind %s to %s", crb.RoleRef, crb.Subjects, cr.Name, serviceAccount)
	}
	if rb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name}) || !equality.Semantic.DeepEqual(rb.Subjects, subject) {
		t.Errorf("RoleBinding %+v %+v does not bind %s to %s", rb.RoleRef, rb.Subjects, role.Name, serviceAccount)
	}
}

// auditedKindGrants are the grants the audit loop needs to list what it
// judges, from the one table of handled kinds (webhook/kinds), every row
// but the wildcard one, which the audit skips; and those the route index
// needs (cluster.RouteResources), which lists and watches some of them and
// Gateway API HTTPRoutes. Both list; the route index watches, so every one
// of them gets watch too.
func auditedKindGrants() []string {
	var out []string
	seen := map[string]bool{}
	add := func(group, resource string) {
		if group == "" {
			group = "core"
		}
		if g := group + " " + resource; !seen[g] {
			seen[g] = true
			out = append(out, g+" list,watch")
		}
	}
	for _, k := range kinds.Handled {
		if k.Kind != kinds.Any {
			add(k.Group, k.Resource)
		}
	}
	for _, r := range wscluster.RouteResources {
		add(r.Group, r.Resource)
	}
	return out
}

// TestAuditRBACIsKindsHandled: the chart lets the audit list exactly the
// kinds of kinds.Handled (but the wildcard row) and the route index's, no
// more and no fewer, so a kind added to the table without its grant (or a
// grant left behind) fails.
func TestAuditRBACIsKindsHandled(t *testing.T) {
	m := helmTemplate(t, defaultRelease)
	cr := typed[rbacv1.ClusterRole](t, m.one(t, "ClusterRole"))
	notAudit := map[string]bool{"ingressclasses": true, "namespaces": true, "websocketpolicies": true, "reports": true}
	var got []rbacRule
	for _, r := range flatten(cr.Rules) {
		if (r.verb == "list" || r.verb == "watch") && !notAudit[r.resource] {
			got = append(got, r)
		}
	}
	if want := grants(auditedKindGrants()...); !slices.Equal(got, want) {
		t.Errorf("the ClusterRole lists\n %v\nkinds.Handled and cluster.RouteResources need\n %v", got, want)
	}
}

func checkNetworkPolicy(t *testing.T, w expect, np *networkingv1.NetworkPolicy, dep *appsv1.Deployment) {
	t.Helper()
	sel, _ := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if sel == nil || sel.Empty() || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("NetworkPolicy podSelector %v does not select the webhook pods", np.Spec.PodSelector)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
		t.Errorf("policyTypes %v, want [Ingress]", np.Spec.PolicyTypes)
	}
	rules := map[string]networkingv1.NetworkPolicyIngressRule{}
	for _, r := range np.Spec.Ingress {
		if len(r.Ports) != 1 || r.Ports[0].Port == nil {
			t.Fatalf("ingress rule with ports %v: want one port per rule", r.Ports)
		}
		rules[r.Ports[0].Port.String()] = r
	}
	if len(rules) != map[bool]int{true: 2, false: 1}[w.metrics] {
		t.Errorf("ingress rules for ports %v", slices.Collect(maps.Keys(rules)))
	}
	webhook, ok := rules["webhook"]
	switch {
	case !ok:
		t.Error("no ingress rule for the webhook port")
	case w.webhookFrom && len(webhook.From) == 0:
		t.Error("networkPolicy.webhook.from not rendered")
	case !w.webhookFrom && len(webhook.From) != 0:
		t.Errorf("the webhook port must be open to every source by default (the API server's address is not selectable): %v", webhook.From)
	}
	if m, ok := rules["metrics"]; w.metrics && (!ok || len(m.From) != 1 || m.From[0].NamespaceSelector == nil) {
		t.Errorf("the metrics port must be open only to the Prometheus namespace selector: %+v", m)
	}
}

func checkMonitoring(t *testing.T, m manifest, svc *corev1.Service) {
	t.Helper()
	sm := m.one(t, "ServiceMonitor")
	spec := sm.Object["spec"].(map[string]any)
	matchLabels := spec["selector"].(map[string]any)["matchLabels"].(map[string]any)
	for k, v := range matchLabels {
		if svc.Labels[k] != v {
			t.Errorf("ServiceMonitor selects %s=%v, the Service has %q", k, v, svc.Labels[k])
		}
	}
	if sm.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Error("serviceMonitor.labels not rendered")
	}
	ep := spec["endpoints"].([]any)[0].(map[string]any)
	if ep["port"] != "metrics" {
		t.Errorf("ServiceMonitor scrapes port %v, want metrics", ep["port"])
	}

	cm := typed[corev1.ConfigMap](t, m.one(t, "ConfigMap"))
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Error("dashboard ConfigMap lacks the grafana_dashboard label the Grafana sidecar looks for")
	}
	checkDashboard(t, cm.Data["ws-defaults.json"])
}

// checkDashboard parses the dashboard and checks its queries name only
// metrics the webhook serves, and that every metric of webhook/metrics is
// shown.
func checkDashboard(t *testing.T, src string) {
	t.Helper()
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(src), &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	served := map[string]bool{
		"controller_runtime_webhook_requests_total":     true,
		"controller_runtime_webhook_latency_seconds":    true,
		"controller_runtime_webhook_requests_in_flight": true,
	}
	nameRE := regexp.MustCompile(`fqName: "([^"]+)"`)
	for _, c := range []prometheus.Collector{metrics.Mutations, metrics.MutationDuration, metrics.Decisions, metrics.ValidationDuration,
		metrics.AuditLastRun, metrics.AuditDuration, metrics.AuditObjects, metrics.AuditFindings, metrics.AuditReportWrites} {
		ch := make(chan *prometheus.Desc, 10)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			served[nameRE.FindStringSubmatch(d.String())[1]] = true
		}
	}
	used := map[string]bool{}
	metricRE := regexp.MustCompile(`\b((?:ws_defaults|controller_runtime_webhook)_[a-z_]+?)(_bucket|_count|_sum)?\{`)
	var queries int
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			for _, mm := range metricRE.FindAllStringSubmatch(tg.Expr, -1) {
				used[mm[1]] = true
				if !served[mm[1]] {
					t.Errorf("panel %q queries %s, which the webhook does not serve", p.Title, mm[1])
				}
			}
		}
	}
	if queries == 0 {
		t.Fatal("dashboard has no queries")
	}
	for name := range served {
		if !used[name] && name != "controller_runtime_webhook_requests_in_flight" {
			t.Errorf("dashboard does not show %s", name)
		}
	}
}

// TestSchemaRejectsBadValues: values.schema.json makes a bad install fail
// before anything reaches the cluster.
func TestSchemaRejectsBadValues(t *testing.T) {
	for _, bad := range []string{
		"replicaCount: 0",
		"replicaCount: two",
		"unknownKey: true",
		"webhook: {timeoutSeconds: 31, port: 9443}",
		"excludedNamespaces: [Not_A_Namespace]",
		"certManager: {enabled: yes-please}",
		"certManager: {enabled: true, issuerRef: {name: only-a-name}}",
		"image: {repository: x, digest: latest}",
		"resources: {requests: {cpu: lots, memory: 1Gi}, limits: {memory: 1Gi}}",
		"networkPolicy: {webhook: {from: [{ipBlock: {}}]}}",
		"serviceMonitor: {interval: soon}",
	} {
		t.Run(bad, func(t *testing.T) {
			out, err := helmTemplateErr(t, release{name: "x", namespace: "x", values: bad + "\n"})
			if err == nil {
				t.Fatalf("accepted:\n%.300s", out)
			}
			if !strings.Contains(err.Error(), "schema") {
				t.Errorf("rejected, but not by the schema: %v", err)
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := writeFileErr(path, []byte(content)); err != nil {
		t.Fatal(err)
	}
}
