package check

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ws-defaults/ws-defaults/test/gen"
	"github.com/ws-defaults/ws-defaults/webhook/validate"
)

// crossObjects are objects whose results depend on others in other files:
// a LoadBalancer Service whose status address an Ingress shares (the edge
// hop of the Ingress's path), a Gateway with status addresses, its class
// and an HTTPRoute attached to it, Services that routes elsewhere send
// WebSocket traffic to, a namespace with sidecar injection.
const crossObjects = `# the load balancer in front of the ingress controller
apiVersion: v1
kind: Service
metadata:
  name: ingress-nginx-controller
  namespace: chat
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout: "120"
spec:
  type: LoadBalancer
  sessionAffinity: ClientIP
  ports:
  - {name: https, port: 443, targetPort: 443}
status:
  loadBalancer:
    ingress:
    - hostname: a1b2.elb.us-east-1.amazonaws.com
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: front, namespace: chat}
spec:
  ingressClassName: nginx
  rules:
  - host: front.example.com
    http:
      paths:
      - {path: /ws, pathType: Prefix, backend: {service: {name: linked, port: {number: 8080}}}}
status:
  loadBalancer:
    ingress:
    - hostname: A1B2.elb.us-east-1.amazonaws.com
---
apiVersion: v1
kind: Service
metadata: {name: linked, namespace: chat}
spec:
  ports:
  - {name: http, port: 8080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: mesh}
spec:
  gatewayClassName: eg
  listeners: [{name: http, port: 80, protocol: HTTP}]
status:
  addresses: [{type: IPAddress, value: 192.0.2.10}]
---
apiVersion: v1
kind: Service
metadata: {name: edge-lb, namespace: mesh}
spec:
  type: LoadBalancer
  ports: [{name: ws, port: 80}]
status:
  loadBalancer:
    ingress: [{ip: 192.0.2.10}]
---
apiVersion: v1
kind: Namespace
metadata:
  name: mesh
  labels: {ws-defaults: enabled, istio-injection: enabled}
`

const crossRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: live, namespace: mesh}
spec:
  parentRefs: [{name: edge}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /ws}}]
    backendRefs: [{name: live, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: live, namespace: mesh}
spec:
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: stream, namespace: mesh}
spec:
  hosts: [stream.example.com]
  http:
  - match: [{uri: {prefix: /socket.io}}]
    route: [{destination: {host: live, port: {number: 8080}}}]
`

// writeDifferentialInput writes generated manifests over several files
// and folders in the shapes check reads: multi-document YAML with
// comments, a List, a JSON stream, CRLF line ends, a file without a final
// line break, documents that are no Kubernetes objects, objects whose
// results depend on objects in other files. It returns the folder and a
// manifest for stdin.
func writeDifferentialInput(t *testing.T, n int) (dir string, stdin string) {
	t.Helper()
	dir = t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	docs := func(objs []map[string]any, comment bool) string {
		var b strings.Builder
		for i, o := range objs {
			y, err := yaml.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			if i > 0 {
				b.WriteString("---\n")
			}
			if comment && i%3 == 0 {
				fmt.Fprintf(&b, "# object %d\n\n", i)
			}
			b.Write(y)
		}
		return b.String()
	}
	write("00-cluster.yaml", docs(gen.ClusterObjects(), true))
	per := max(1, n/5)
	objs := gen.Manifests(11, 0, n, true)
	write("a/10-gen.yaml", docs(objs[:per], true))
	write("a/11-gen.yml", "---\n"+docs(objs[per:2*per], false)+"---\n# trailing comment\n")
	items := make([]any, 0, per)
	for _, o := range objs[2*per : 3*per] {
		items = append(items, o)
	}
	list, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	write("b/list.yaml", string(list))
	var js strings.Builder
	for _, o := range objs[3*per : 4*per] {
		b, err := json.MarshalIndent(o, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		js.Write(b)
		js.WriteString("\n")
	}
	write("b/stream.json", js.String())
	crlf := strings.ReplaceAll(docs(objs[4*per:4*per+per/2], true), "\n", "\r\n")
	write("b/crlf.yaml", crlf)
	// Lines longer than the readers' buffers (kubectl's last-applied
	// annotation holds a whole object).
	long := gen.Manifests(12, n, 2, false)
	long[0]["metadata"].(map[string]any)["annotations"].(map[string]any)["kubectl.kubernetes.io/last-applied-configuration"] = strings.Repeat("{\"a\":1},", 10_000)
	write("a/12-long.yaml", docs(long, false))
	write("c/cross.yaml", crossObjects)
	write("c/routes.yaml", strings.TrimSuffix(crossRoutes, "\n"))
	write("c/chart.yaml", "name: not-an-object\nversion: 1.0.0\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: chat}\ndata: {a: b}\n")
	return dir, docs(objs[4*per+per/2:], true)
}

// TestStreamingMatchesInMemory holds the streaming Run to the check as it
// was before it streamed (oldcheck_test.go: every object read, then
// judged, then written): the same stdout and stderr bytes, summary and
// error, for every -o, over generated multi-file input with the real
// rules.
func TestStreamingMatchesInMemory(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 60
	}
	engine, err := validate.NewEngine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rules := Rules{Engine: engine}
	dir, stdin := writeDifferentialInput(t, n)
	bad := filepath.Join(t.TempDir(), "dup.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {}\nspec: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notObjects := filepath.Join(t.TempDir(), "Chart.yaml")
	if err := os.WriteFile(notObjects, []byte("name: chart\nversion: 1.0.0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	variants := []struct {
		name string
		o    Options
	}{
		{"folders", Options{Files: []string{dir, "testdata/manifests", "testdata/evidence"}}},
		{"stdin first", Options{Files: []string{"-", dir}, Stdin: strings.NewReader(stdin)}},
		{"policy", Options{Files: []string{dir, "testdata/seed"}, PolicyFile: "testdata/policy.yaml"}},
		{"strict", Options{Files: []string{dir}, Strict: true}},
		{"duplicate key after good files", Options{Files: []string{"testdata/manifests", bad}}},
		{"fail on warn", Options{Files: []string{filepath.Join(dir, "c")}, FailOn: FailOnWarn}},
		{"stdin only", Options{Files: []string{"-"}, Stdin: strings.NewReader(stdin), FailOn: FailOnWarn}},
		{"no objects", Options{Files: []string{notObjects}}},
	}
	for _, v := range variants {
		for _, format := range Formats() {
			t.Run(v.name+"/"+format, func(t *testing.T) {
				stdinText := ""
				if v.o.Stdin != nil {
					stdinText = stdin
				}
				do := func(run func(context.Context, Options) (Summary, error), format string) runResult {
					o := v.o
					o.Output, o.Validator = format, rules
					var out, errb bytes.Buffer
					o.Stdout, o.Stderr, o.Stdin = &out, &errb, strings.NewReader(stdinText)
					sum, err := run(context.Background(), o)
					return runResult{sum, err, out.String(), errb.String()}
				}
				got := do(Run, format)
				// Judged on several goroutines, the output is the same.
				one := v.o
				v.o.Workers = 3
				if par := do(Run, format); par.sum != got.sum || fmt.Sprint(par.err) != fmt.Sprint(got.err) || par.stdout != got.stdout || par.stderr != got.stderr {
					t.Errorf("with 3 workers: %+v, %v; one: %+v, %v; stdout same %v, stderr same %v",
						par.sum, par.err, got.sum, got.err, par.stdout == got.stdout, par.stderr == got.stderr)
				}
				v.o = one
				wantFormat := format
				if format == "jsonl" {
					wantFormat = "json" // compared below, result by result
				}
				want := do(oldRun, wantFormat)
				if fmt.Sprint(got.err) != fmt.Sprint(want.err) || got.sum != want.sum {
					t.Fatalf("streaming: %+v, %v; in memory: %+v, %v", got.sum, got.err, want.sum, want.err)
				}
				if got.stderr != want.stderr {
					t.Errorf("stderr differs:\n%s", firstDifference(got.stderr, want.stderr))
				}
				if format == "jsonl" && want.err == nil {
					want.stdout = jsonlOf(t, want.stdout)
				}
				if got.stdout != want.stdout {
					t.Errorf("stdout differs:\n%s", firstDifference(got.stdout, want.stdout))
				}
				// The folder holds the generated objects but stdin's share
				// (writeDifferentialInput); every variant reads the folder.
				if inDir := 4*max(1, n/5) + max(1, n/5)/2; want.err == nil && v.o.FailOn == "" && want.sum.Objects < inDir {
					t.Errorf("only %d objects checked", want.sum.Objects)
				}
			})
		}
	}
}

// jsonlOf is -o json's report as JSON Lines: each result on a line, then
// the summary.
func jsonlOf(t *testing.T, report string) string {
	t.Helper()
	var rep struct {
		Results []json.RawMessage `json:"results"`
		Summary Summary           `json:"summary"`
	}
	if err := json.Unmarshal([]byte(report), &rep); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, r := range rep.Results {
		if err := json.Compact(&b, r); err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n")
	}
	sum, _ := json.Marshal(map[string]Summary{"summary": rep.Summary})
	b.Write(sum)
	b.WriteString("\n")
	return b.String()
}

func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got: %.400s\nwant: %.400s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(g), len(w))
}
