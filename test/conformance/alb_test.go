package conformance

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// TestALBIdleTimeoutAcceptedByAWS runs `webhook check` on ALB Ingresses in
// namespaces whose idle timeout ranges from 1 s to 7 days: what we add must
// be within what AWS accepts (1–4000 s), and our own alb-idle-timeout-range
// rule (or any other) must never fire on it. The AWS Load Balancer
// Controller's module is not served here, so the range itself comes from
// the AWS documentation (docs/conformance.md).
func TestALBIdleTimeoutAcceptedByAWS(t *testing.T) {
	needBinary(t)
	docs := []string{ingressClass("alb", "ingress.k8s.aws/alb")}
	for _, idle := range idles {
		ns := fmt.Sprintf("idle-%d", idle)
		docs = append(docs,
			namespace(ns, map[string]string{v1alpha1.IdleTimeoutAnnotation: strconv.Itoa(idle)}),
			ingress(ns, "plain", "alb", nil, false),
			ingress(ns, "ip", "alb", map[string]string{"alb.ingress.kubernetes.io/target-type": "ip"}, true),
		)
	}
	run := runCheck(t, "", docs)
	if run.Exit != 0 {
		t.Errorf("webhook check denied an ALB Ingress built only from our defaults")
	}
	run.noRuleOnInjected(t, "alb")
	for _, r := range run.Report.Results {
		for _, v := range r.Violations {
			if v.Rule == "alb-idle-timeout-range" || v.Rule == "websocket-idle-timeout-too-low" {
				t.Errorf("%s %s/%s: rule %s fired on %s: %s", r.Kind, r.Namespace, r.Name, v.Rule, v.Field, v.Message)
			}
		}
	}
	for _, idle := range idles {
		ns := fmt.Sprintf("idle-%d", idle)
		for _, name := range []string{"plain", "ip"} {
			got := annotationsOf(run.object(t, "Ingress", ns, name))["alb.ingress.kubernetes.io/load-balancer-attributes"]
			want := "idle_timeout.timeout_seconds=" + strconv.Itoa(min(idle, 4000))
			if got != want {
				t.Errorf("%s/%s: load-balancer-attributes = %q, want %q", ns, name, got, want)
			}
		}
	}
}
