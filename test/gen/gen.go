// Package gen generates realistic admission objects for the serve benchmark
// (test/bench, `make bench-serve`) and the differential tests that hold the
// fast evaluation paths to the plain ones: Ingresses for several
// controllers, WebSocket and plain Services, Istio DestinationRules and
// VirtualServices, Contour HTTPProxies, each the way a cluster sends it,
// with kubectl's last-applied-configuration annotation, managedFields and
// status, and a few percent with a rule violation. Objects are distinct
// (names, hosts, ports, annotation sets) and deterministic for a seed.
package gen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// Object is one generated object and how it would reach the webhook.
type Object struct {
	Namespace string
	Operation admissionv1.Operation
	// Object is the object as sent; Old the stored one on UPDATE.
	Object map[string]any
	Old    map[string]any
	// Violation names the mistake planted in it ("" for none).
	Violation string
}

// Namespaces the objects go to: OptedIn is labelled ws-defaults=enabled
// (the benchmark creates it so), Plain is not.
const (
	OptedIn = "chat"
	Plain   = "plain"
)

// IngressClasses the Ingresses name (the benchmark creates them).
var IngressClasses = map[string]string{
	"nginx":   "k8s.io/ingress-nginx",
	"haproxy": "haproxy-ingress.github.io/controller",
	"traefik": "traefik.io/ingress-controller",
	"alb":     "ingress.k8s.aws/alb",
}

// Objects returns n distinct objects for seed.
func Objects(seed uint64, n int) []Object { return objects(seed, 0, n) }

// objects returns n objects for seed numbered from first (names carry the
// number, so objects of calls with distinct ranges never collide).
func objects(seed uint64, first, n int) []Object {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]Object, 0, n)
	for i := range n {
		g := &generator{r: r, i: first + i}
		out = append(out, g.object())
	}
	return out
}

type generator struct {
	r *rand.Rand
	i int
}

func (g *generator) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g *generator) chance(p float64) bool    { return g.r.Float64() < p }

var teams = []string{"chat", "games", "trading", "notify", "presence", "collab", "support", "iot"}

func (g *generator) object() Object {
	ns := OptedIn
	if g.chance(0.3) {
		ns = Plain
	}
	var obj map[string]any
	violation := ""
	switch p := g.r.IntN(100); {
	case p < 45:
		obj, violation = g.ingress(ns)
	case p < 80:
		obj, violation = g.service(ns)
	case p < 88:
		obj, violation = g.destinationRule(ns)
	case p < 95:
		obj, violation = g.virtualService(ns)
	default:
		obj = g.httpProxy(ns)
	}
	o := Object{Namespace: ns, Operation: admissionv1.Create, Object: obj, Violation: violation}
	if g.chance(0.2) {
		o.Operation = admissionv1.Update
		o.Old = clone(obj)
		md := o.Old["metadata"].(map[string]any)
		md["resourceVersion"] = fmt.Sprint(100000 + g.i)
		delete(md["annotations"].(map[string]any), "deployment.kubernetes.io/revision")
	}
	return o
}

// metadata is what the API server and kubectl put on every object.
func (g *generator) metadata(ns, name, team string, annotations map[string]any) map[string]any {
	labels := map[string]any{
		"app.kubernetes.io/name":       name,
		"app.kubernetes.io/part-of":    team,
		"app.kubernetes.io/managed-by": g.pick("Helm", "kustomize", "argocd"),
		"team":                         team,
	}
	if g.chance(0.1) {
		labels["ws-defaults"] = "enabled"
	}
	annotations["deployment.kubernetes.io/revision"] = fmt.Sprint(1 + g.r.IntN(40))
	return map[string]any{
		"name":              name,
		"namespace":         ns,
		"uid":               fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<12), g.r.IntN(1<<12), g.r.Uint64()&(1<<48-1)),
		"resourceVersion":   fmt.Sprint(10000 + g.i),
		"generation":        int64(1 + g.r.IntN(9)),
		"creationTimestamp": fmt.Sprintf("2026-%02d-%02dT%02d:%02d:%02dZ", 1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60)),
		"labels":            labels,
		"annotations":       annotations,
	}
}

// finish adds kubectl's last-applied-configuration (the object as applied:
// no server fields, no status) and managedFields for kubectl and a
// controller writing status.
func finish(obj map[string]any, status map[string]any) map[string]any {
	applied := clone(obj)
	amd := applied["metadata"].(map[string]any)
	for _, k := range []string{"uid", "resourceVersion", "generation", "creationTimestamp"} {
		delete(amd, k)
	}
	last, _ := json.Marshal(applied)
	md := obj["metadata"].(map[string]any)
	md["annotations"].(map[string]any)["kubectl.kubernetes.io/last-applied-configuration"] = string(last) + "\n"
	spec := fieldsV1(map[string]any{"metadata": map[string]any{"annotations": amd["annotations"], "labels": amd["labels"]}, "spec": obj["spec"]})
	mf := []any{map[string]any{
		"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": obj["apiVersion"],
		"time": md["creationTimestamp"], "fieldsType": "FieldsV1", "fieldsV1": spec,
	}}
	if status != nil {
		obj["status"] = status
		mf = append(mf, map[string]any{
			"manager": "controller", "operation": "Update", "apiVersion": obj["apiVersion"], "subresource": "status",
			"time": md["creationTimestamp"], "fieldsType": "FieldsV1", "fieldsV1": fieldsV1(map[string]any{"status": status}),
		})
	}
	md["managedFields"] = mf
	return obj
}

// fieldsV1 is the managedFields field set of v, in the API server's shape.
func fieldsV1(v any) map[string]any {
	out := map[string]any{}
	switch v := v.(type) {
	case map[string]any:
		if len(v) > 0 {
			out["."] = map[string]any{}
		}
		for k, e := range v {
			out["f:"+k] = fieldsV1(e)
		}
	case []any:
		for i, e := range v {
			key := fmt.Sprintf(`v:%d`, i)
			if m, ok := e.(map[string]any); ok {
				if n, ok := m["name"].(string); ok {
					key = fmt.Sprintf(`k:{"name":%q}`, n)
				} else if p, ok := m["port"]; ok {
					key = fmt.Sprintf(`k:{"port":%v,"protocol":"TCP"}`, p)
				}
			}
			out[key] = fieldsV1(e)
		}
	}
	return out
}

func (g *generator) ingress(ns string) (map[string]any, string) {
	team := teams[g.r.IntN(len(teams))]
	name := fmt.Sprintf("%s-%s-%d", team, g.pick("ws", "api", "web", "socket", "push", "live"), g.i)
	class := g.pick("nginx", "nginx", "nginx", "haproxy", "traefik", "alb")
	ann := map[string]any{}
	violation := ""
	switch class {
	case "nginx":
		if g.chance(0.6) {
			ann["nginx.ingress.kubernetes.io/proxy-read-timeout"] = g.pick("3600", "7200", "86400")
		}
		if g.chance(0.3) {
			ann["nginx.ingress.kubernetes.io/proxy-body-size"] = g.pick("8m", "16m", "1m")
		}
		if g.chance(0.3) {
			ann["nginx.ingress.kubernetes.io/ssl-redirect"] = "true"
		}
		if g.chance(0.2) {
			ann["nginx.ingress.kubernetes.io/enable-cors"] = "true"
			ann["nginx.ingress.kubernetes.io/cors-allow-origin"] = fmt.Sprintf("https://%s.example.com", team)
		}
		if g.chance(0.15) {
			ann["nginx.ingress.kubernetes.io/affinity"] = "cookie"
		}
		if g.chance(0.05) {
			ann["nginx.ingress.kubernetes.io/server-snippet"] = "location /x { return 200; }"
			violation = "nginx-snippet-annotation"
		} else if g.chance(0.04) {
			ann["nginx.ingress.kubernetes.io/proxy-send-timeout"] = "3600s"
			violation = "nginx-timeout-format"
		}
	case "haproxy":
		if g.chance(0.5) {
			ann["haproxy-ingress.github.io/timeout-tunnel"] = g.pick("1h", "2h", "30m")
		}
		if g.chance(0.3) {
			ann["haproxy-ingress.github.io/affinity"] = "cookie"
		}
	case "traefik":
		if g.chance(0.4) {
			ann["traefik.ingress.kubernetes.io/router.entrypoints"] = "websecure"
		}
	case "alb":
		ann["alb.ingress.kubernetes.io/scheme"] = "internet-facing"
		ann["alb.ingress.kubernetes.io/target-type"] = g.pick("ip", "instance")
		if g.chance(0.3) {
			ann["alb.ingress.kubernetes.io/load-balancer-attributes"] = "idle_timeout.timeout_seconds=600"
		}
	}
	spec := map[string]any{}
	if g.chance(0.85) {
		spec["ingressClassName"] = class
	} else {
		ann["kubernetes.io/ingress.class"] = class
	}
	host := fmt.Sprintf("%s-%d.%s.example.com", team, g.i, g.pick("eu", "us", "ap"))
	var paths []any
	for j := range 1 + g.r.IntN(3) {
		p := g.pick("/ws", "/socket.io", "/api", "/", "/cable", "/v1/stream", "/graphql")
		svc := fmt.Sprintf("%s-%d", g.pick("chat", "api", "web", "ws"), j)
		paths = append(paths, map[string]any{
			"path": p, "pathType": g.pick("Prefix", "ImplementationSpecific", "Exact"),
			"backend": map[string]any{"service": map[string]any{"name": svc, "port": map[string]any{"number": int64(g.pick2(8080, 80, 3000, 9000))}}},
		})
	}
	spec["rules"] = []any{map[string]any{"host": host, "http": map[string]any{"paths": paths}}}
	if g.chance(0.6) {
		spec["tls"] = []any{map[string]any{"hosts": []any{host}, "secretName": name + "-tls"}}
	}
	obj := map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": g.metadata(ns, name, team, ann), "spec": spec}
	status := map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": fmt.Sprintf("203.0.113.%d", g.r.IntN(250))}}}}
	return finish(obj, status), violation
}

func (g *generator) pick2(xs ...int) int { return xs[g.r.IntN(len(xs))] }

func (g *generator) service(ns string) (map[string]any, string) {
	team := teams[g.r.IntN(len(teams))]
	name := fmt.Sprintf("%s-%s-%d", team, g.pick("ws", "api", "websocket", "backend", "chat"), g.i)
	ports := []any{}
	if g.chance(0.7) {
		p := map[string]any{"name": g.pick("ws", "websocket", "http-ws", "wss"), "port": int64(g.pick2(8080, 443, 3000)), "targetPort": int64(g.pick2(8080, 8443)), "protocol": "TCP"}
		if g.chance(0.3) {
			p["appProtocol"] = "http"
		}
		ports = append(ports, p)
	}
	ports = append(ports, map[string]any{"name": g.pick("http", "grpc", "api"), "port": int64(80 + g.r.IntN(10)), "targetPort": "http", "protocol": "TCP"})
	if g.chance(0.5) {
		ports = append(ports, map[string]any{"name": "metrics", "port": int64(9090), "targetPort": int64(9090), "protocol": "TCP"})
	}
	spec := map[string]any{
		"type":       g.pick("ClusterIP", "ClusterIP", "ClusterIP", "LoadBalancer"),
		"selector":   map[string]any{"app.kubernetes.io/name": name},
		"ports":      ports,
		"clusterIP":  fmt.Sprintf("10.96.%d.%d", g.r.IntN(250), 1+g.r.IntN(250)),
		"clusterIPs": []any{"10.96.0.1"},
		"ipFamilies": []any{"IPv4"}, "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
	}
	spec["clusterIPs"] = []any{spec["clusterIP"]}
	violation := ""
	if g.chance(0.3) {
		spec["sessionAffinity"] = "ClientIP"
		t := int64(10800)
		if g.chance(0.1) {
			t, violation = 0, "service-affinity-timeout-range"
		}
		spec["sessionAffinityConfig"] = map[string]any{"clientIP": map[string]any{"timeoutSeconds": t}}
	} else {
		spec["sessionAffinity"] = "None"
	}
	obj := map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": g.metadata(ns, name, team, map[string]any{}), "spec": spec}
	var status map[string]any
	if spec["type"] == "LoadBalancer" {
		status = map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "198.51.100.7"}}}}
	}
	return finish(obj, status), violation
}

func (g *generator) destinationRule(ns string) (map[string]any, string) {
	team := teams[g.r.IntN(len(teams))]
	name := fmt.Sprintf("%s-dr-%d", team, g.i)
	tp := map[string]any{"connectionPool": map[string]any{"tcp": map[string]any{"maxConnections": int64(100 + g.r.IntN(900))}}}
	violation := ""
	if g.chance(0.5) {
		h := map[string]any{"idleTimeout": g.pick("3600s", "1h", "7200s")}
		if g.chance(0.08) {
			h["h2UpgradePolicy"], h["useClientProtocol"] = "UPGRADE", true
			violation = "istio-h2-upgrade-client-protocol"
		}
		tp["connectionPool"].(map[string]any)["http"] = h
	}
	if g.chance(0.4) {
		tp["loadBalancer"] = map[string]any{"consistentHash": map[string]any{"httpCookie": map[string]any{"name": "ws", "ttl": "3600s"}}}
	}
	spec := map[string]any{"host": fmt.Sprintf("%s.%s.svc.cluster.local", name, ns), "trafficPolicy": tp}
	obj := map[string]any{"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": g.metadata(ns, name, team, map[string]any{}), "spec": spec}
	return finish(obj, nil), violation
}

func (g *generator) virtualService(ns string) (map[string]any, string) {
	team := teams[g.r.IntN(len(teams))]
	name := fmt.Sprintf("%s-vs-%d", team, g.i)
	route := map[string]any{
		"match": []any{map[string]any{"uri": map[string]any{"prefix": g.pick("/ws", "/api", "/socket.io")}}},
		"route": []any{map[string]any{"destination": map[string]any{"host": team + "-ws", "port": map[string]any{"number": int64(8080)}}}},
	}
	violation := ""
	if g.chance(0.06) {
		route["timeout"], violation = "0s", "istio-zero-timeout"
	} else if g.chance(0.5) {
		route["timeout"] = g.pick("3600s", "0.5s", "30s")
	}
	spec := map[string]any{"hosts": []any{fmt.Sprintf("%s-%d.example.com", team, g.i)}, "gateways": []any{"istio-system/public"}, "http": []any{route}}
	obj := map[string]any{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": g.metadata(ns, name, team, map[string]any{}), "spec": spec}
	return finish(obj, nil), violation
}

func (g *generator) httpProxy(ns string) map[string]any {
	team := teams[g.r.IntN(len(teams))]
	name := fmt.Sprintf("%s-proxy-%d", team, g.i)
	routes := []any{map[string]any{
		"conditions": []any{map[string]any{"prefix": g.pick("/ws", "/api", "/")}},
		"services":   []any{map[string]any{"name": team + "-ws", "port": int64(8080)}},
	}}
	spec := map[string]any{"virtualhost": map[string]any{"fqdn": fmt.Sprintf("%s-%d.example.com", team, g.i)}, "routes": routes}
	obj := map[string]any{"apiVersion": "projectcontour.io/v1", "kind": "HTTPProxy", "metadata": g.metadata(ns, name, team, map[string]any{}), "spec": spec}
	return finish(obj, map[string]any{"currentStatus": "valid", "description": "Valid HTTPProxy"})
}

// Review is o as the API server sends it: an admission.k8s.io/v1
// AdmissionReview, its uid derived from seq.
func (o Object) Review(seq int) ([]byte, error) {
	raw, err := json.Marshal(o.Object)
	if err != nil {
		return nil, err
	}
	return o.ReviewOf(seq, raw)
}

// ReviewOf is Review with the object replaced by raw (e.g. after mutation).
func (o Object) ReviewOf(seq int, raw []byte) ([]byte, error) {
	apiVersion, _ := o.Object["apiVersion"].(string)
	kind, _ := o.Object["kind"].(string)
	group, version, found := strings.Cut(apiVersion, "/")
	if !found {
		group, version = "", group
	}
	resource := strings.ToLower(kind) + "s"
	switch {
	case kind == "HTTPProxy":
		resource = "httpproxies"
	case strings.HasSuffix(kind, "s"):
		resource = strings.ToLower(kind) + "es"
	}
	name, _ := o.Object["metadata"].(map[string]any)["name"].(string)
	req := &admissionv1.AdmissionRequest{
		UID:         types.UID(fmt.Sprintf("bench-%08d", seq)),
		Kind:        metav1.GroupVersionKind{Group: group, Version: version, Kind: kind},
		Resource:    metav1.GroupVersionResource{Group: group, Version: version, Resource: resource},
		RequestKind: &metav1.GroupVersionKind{Group: group, Version: version, Kind: kind},
		Name:        name,
		Namespace:   o.Namespace,
		Operation:   o.Operation,
		UserInfo:    authUser(seq),
		Object:      runtime.RawExtension{Raw: raw},
		DryRun:      new(bool),
		Options:     runtime.RawExtension{Raw: []byte(`{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"kubectl-client-side-apply","fieldValidation":"Strict"}`)},
	}
	if o.Old != nil {
		old, err := json.Marshal(o.Old)
		if err != nil {
			return nil, err
		}
		req.OldObject = runtime.RawExtension{Raw: old}
		req.Options.Raw = []byte(`{"kind":"UpdateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"kubectl-client-side-apply","fieldValidation":"Strict"}`)
	}
	r := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req}
	return json.Marshal(r)
}

// authUser is who makes the write: kubectl users, Argo CD, Flux.
func authUser(seq int) authenticationv1.UserInfo {
	switch seq % 3 {
	case 0:
		return authenticationv1.UserInfo{Username: "system:serviceaccount:argocd:argocd-application-controller", UID: "5d1e1a2b-0c1d-4e5f-8a9b-0c1d2e3f4a5b",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"}}
	case 1:
		return authenticationv1.UserInfo{Username: "system:serviceaccount:flux-system:kustomize-controller", UID: "6e2f2b3c-1d2e-4f60-9bac-1d2e3f4a5b6c",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:flux-system", "system:authenticated"}}
	}
	return authenticationv1.UserInfo{Username: fmt.Sprintf("dev%d@example.com", seq%17), Groups: []string{"developers", "system:authenticated"},
		Extra: map[string]authenticationv1.ExtraValue{"authentication.kubernetes.io/credential-id": {fmt.Sprintf("X509SHA256=%064x", seq)}}}
}

func clone(m map[string]any) map[string]any {
	var out map[string]any
	b, _ := json.Marshal(m)
	_ = json.Unmarshal(b, &out)
	return out
}

// Kinds counts the objects by kind and how many carry a violation, for a
// benchmark's header.
func Kinds(objs []Object) string {
	count := map[string]int{}
	violations := 0
	for _, o := range objs {
		k, _ := o.Object["kind"].(string)
		count[k]++
		if o.Violation != "" {
			violations++
		}
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", count[k], k))
	}
	return fmt.Sprintf("%s; %d with a planted violation", strings.Join(parts, ", "), violations)
}
