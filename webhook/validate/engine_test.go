package validate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/evidence"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

var engine *Engine

func TestMain(m *testing.M) {
	var err error
	if engine, err = NewEngine(context.Background()); err != nil {
		panic(err)
	}
	m.Run()
}

const nginx = "nginx.ingress.kubernetes.io/"

// ingress returns an Ingress of the given class with TLS and annotations.
func ingress(class string, annotations map[string]string) string {
	b, _ := json.Marshal(annotations)
	return `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"ws","annotations":` + string(b) + `},
"spec":{"ingressClassName":"` + class + `","tls":[{"hosts":["ws.example.com"],"secretName":"t"}],
"rules":[{"host":"ws.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"ws","port":{"number":80}}}}]}}]}}`
}

// FuzzEvaluate builds the rule input from arbitrary JSON objects: the
// engine must answer without error (the rules guard every field they read).
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(ingress("nginx", map[string]string{nginx + "proxy-read-timeout": "3600s"})))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{"traefik.ingress.kubernetes.io/service.sticky.cookie.maxage":"x"}},"spec":{"ports":[{"name":"grpc-ws","port":1}],"sessionAffinityConfig":{"clientIP":{"timeoutSeconds":"a"}}}}`))
	f.Add([]byte(`{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","spec":{"subsets":[{"trafficPolicy":{"portLevelSettings":[{"loadBalancer":{"simple":"X","consistentHash":{"httpCookie":{}}}}]}}]}}`))
	f.Add([]byte(`{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","spec":{"http":[{"timeout":"0s"},{"timeout":5},null]}}`))
	f.Add([]byte(`{"apiVersion":"projectcontour.io/v1","kind":"HTTPProxy","spec":{"routes":[{"enableWebsockets":true,"timeoutPolicy":{"response":"1x"}}]}}`))
	policy := v1alpha1.BuiltinPolicy()
	f.Fuzz(func(t *testing.T, raw []byte) {
		var obj map[string]any
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			return
		}
		for _, optedIn := range []bool{true, false} {
			in := Input{Object: obj, Namespace: "chat", OptedIn: optedIn, Controller: ingressclass.Nginx, Defaulted: DefaultedKeys(obj)}
			if _, _, err := engine.Evaluate(context.Background(), in, &policy, nil); err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
		}
	})
}

var jsonUnmarshal = json.Unmarshal

// TestEvidenceInInput: the pipeline's WebSocket evidence reaches the rules
// as input.evidence; a "breaks WebSocket" rule fires on the port with
// evidence only, and its message names the evidence.
func TestEvidenceInInput(t *testing.T) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"live"},"spec":{"ports":[{"name":"grpc-api","port":9000},{"name":"http2-live","port":8080}]}}`), &obj); err != nil {
		t.Fatal(err)
	}
	policy := v1alpha1.BuiltinPolicy()
	in := Input{Object: obj, Namespace: "chat", OptedIn: true}
	vs, _, err := engine.Evaluate(context.Background(), in, &policy, nil)
	if err != nil || len(vs) != 0 {
		t.Fatalf("without evidence: %v (err %v), want none", vs, err)
	}
	in.Evidence = &evidence.Evidence{Items: []evidence.Item{{Field: "spec.ports[1]", Reason: "HTTPRoute chat/live spec.rules[0] (path segment ws) sends traffic to port 8080"}}}
	vs, _, err = engine.Evaluate(context.Background(), in, &policy, nil)
	if err != nil || len(vs) != 1 || vs[0].Rule != "http2-only-port" || vs[0].Field != "spec.ports[1].name" ||
		!strings.Contains(vs[0].Message, "WebSocket evidence: HTTPRoute chat/live spec.rules[0] (path segment ws)") {
		t.Errorf("with evidence on port 1: %+v (err %v)", vs, err)
	}
}
