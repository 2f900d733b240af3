package v1alpha1

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func i32(v int32) *int32 { return &v }
func yes() *bool         { v := true; return &v }
func no() *bool          { v := false; return &v }
func dur(d time.Duration) *metav1.Duration {
	return &metav1.Duration{Duration: d}
}

// TestValidate covers every field of the spec, valid and invalid values, and
// checks the exact field paths Validate reports (an empty want: valid).
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec func(*WebSocketPolicySpec)
		want []string // field paths, in order
		msg  string   // a substring of the first error, when set
	}{
		{name: "empty", spec: func(*WebSocketPolicySpec) {}},

		// spec.enforcement: an action each
		{name: "enforcement deny/audit", spec: func(s *WebSocketPolicySpec) {
			s.Enforcement = EnforcementSpec{OutsideOptIn: ActionDeny, OptedOut: ActionAudit}
		}},
		{name: "enforcement unknown", spec: func(s *WebSocketPolicySpec) {
			s.Enforcement = EnforcementSpec{OutsideOptIn: "Warn", OptedOut: "block"}
		}, want: []string{"spec.enforcement.outsideOptIn", "spec.enforcement.optedOut"}, msg: "supported values"},

		// spec.mutation.idleTimeoutSeconds: 1..604800
		{name: "idle timeout 1", spec: func(s *WebSocketPolicySpec) { s.Mutation.IdleTimeoutSeconds = i32(1) }},
		{name: "idle timeout 7 days", spec: func(s *WebSocketPolicySpec) { s.Mutation.IdleTimeoutSeconds = i32(604800) }},
		{name: "idle timeout 0", spec: func(s *WebSocketPolicySpec) { s.Mutation.IdleTimeoutSeconds = i32(0) },
			want: []string{"spec.mutation.idleTimeoutSeconds"}},
		{name: "idle timeout negative", spec: func(s *WebSocketPolicySpec) { s.Mutation.IdleTimeoutSeconds = i32(-5) },
			want: []string{"spec.mutation.idleTimeoutSeconds"}},
		{name: "idle timeout over 7 days", spec: func(s *WebSocketPolicySpec) { s.Mutation.IdleTimeoutSeconds = i32(604801) },
			want: []string{"spec.mutation.idleTimeoutSeconds"}, msg: "7 days"},

		// spec.mutation.affinity.enabled, secureOnTLS: any bool
		{name: "affinity off", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.Enabled = no() }},
		{name: "affinity on", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.Enabled = yes() }},
		{name: "secureOnTLS off", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.SecureOnTLS = no() }},
		{name: "secureOnTLS on", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.SecureOnTLS = yes() }},

		// spec.mutation.affinity.cookieName
		{name: "cookie name", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.CookieName = "ws-server_1.a~b" }},
		{name: "cookie name with a space", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.CookieName = "ws server" },
			want: []string{"spec.mutation.affinity.cookieName"}, msg: "RFC 6265"},
		{name: "cookie name with a slash (nginx keeps it, RFC 6265 does not)", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.CookieName = "ws/server" },
			want: []string{"spec.mutation.affinity.cookieName"}, msg: "RFC 6265"},
		{name: "cookie name with a colon", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.CookieName = "ws:server" },
			want: []string{"spec.mutation.affinity.cookieName"}, msg: `e.g. "ws-server"`},
		{name: "cookie name nginx replaces", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.CookieName = "ws!server" },
			want: []string{"spec.mutation.affinity.cookieName"}, msg: "INGRESSCOOKIE"},
		{name: "cookie name with an equals sign", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.CookieName = "a=b" },
			want: []string{"spec.mutation.affinity.cookieName"}, msg: "INGRESSCOOKIE"},
		{name: "cookie name non-ASCII", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.CookieName = "wé" },
			want: []string{"spec.mutation.affinity.cookieName"}, msg: "INGRESSCOOKIE"},
		{name: "cookie name too long", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.CookieName = strings.Repeat("a", 257) },
			want: []string{"spec.mutation.affinity.cookieName"}},

		// spec.mutation.affinity.cookieMaxAgeSeconds: >= 0
		{name: "cookie max age 0", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.CookieMaxAgeSeconds = i32(0) }},
		{name: "cookie max age negative", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.CookieMaxAgeSeconds = i32(-1) },
			want: []string{"spec.mutation.affinity.cookieMaxAgeSeconds"}},

		// spec.mutation.affinity.sameSite
		{name: "sameSite Strict", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.SameSite = "Strict" }},
		{name: "sameSite None", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.SameSite = "None" }},
		{name: "sameSite lowercase", spec: func(s *WebSocketPolicySpec) { s.Mutation.Affinity.SameSite = "lax" },
			want: []string{"spec.mutation.affinity.sameSite"}},

		// spec.mutation.serviceAffinity
		{name: "service affinity off", spec: func(s *WebSocketPolicySpec) { s.Mutation.ServiceAffinity.Enabled = no() }},
		{name: "client IP timeout 1", spec: func(s *WebSocketPolicySpec) { s.Mutation.ServiceAffinity.TimeoutSeconds = i32(1) }},
		{name: "client IP timeout 86400", spec: func(s *WebSocketPolicySpec) { s.Mutation.ServiceAffinity.TimeoutSeconds = i32(86400) }},
		{name: "client IP timeout 0", spec: func(s *WebSocketPolicySpec) { s.Mutation.ServiceAffinity.TimeoutSeconds = i32(0) },
			want: []string{"spec.mutation.serviceAffinity.timeoutSeconds"}},
		{name: "client IP timeout 86401", spec: func(s *WebSocketPolicySpec) { s.Mutation.ServiceAffinity.TimeoutSeconds = i32(86401) },
			want: []string{"spec.mutation.serviceAffinity.timeoutSeconds"}},

		// spec.mutation.portProtocolHint
		{name: "hint http", spec: func(s *WebSocketPolicySpec) { s.Mutation.PortProtocolHint = "http" }},
		{name: "hint ws", spec: func(s *WebSocketPolicySpec) { s.Mutation.PortProtocolHint = "kubernetes.io/ws" }},
		{name: "hint wss", spec: func(s *WebSocketPolicySpec) { s.Mutation.PortProtocolHint = "kubernetes.io/wss" }},
		{name: "hint h2c", spec: func(s *WebSocketPolicySpec) { s.Mutation.PortProtocolHint = "kubernetes.io/h2c" },
			want: []string{"spec.mutation.portProtocolHint"}},
		{name: "hint HTTP", spec: func(s *WebSocketPolicySpec) { s.Mutation.PortProtocolHint = "HTTP" },
			want: []string{"spec.mutation.portProtocolHint"}},

		// spec.rules
		{name: "rule action and scope", spec: func(s *WebSocketPolicySpec) {
			s.Rules = map[string]RuleSetting{"tls-required": {Action: ActionOff}, "nginx-snippet-annotation": {Action: ActionWarn, Scope: ScopeOptedIn},
				"istio-h2-upgrade": {Action: ActionAudit, Scope: ScopeCluster}, "http2-only-port": {Action: ActionDeny}}
		}},
		{name: "rule empty setting", spec: func(s *WebSocketPolicySpec) { s.Rules = map[string]RuleSetting{"tls-required": {}} }},
		{name: "unknown rule", spec: func(s *WebSocketPolicySpec) { s.Rules = map[string]RuleSetting{"no-such-rule": {Action: ActionOff}} },
			want: []string{"spec.rules[no-such-rule]"}},
		{name: "rule action", spec: func(s *WebSocketPolicySpec) { s.Rules = map[string]RuleSetting{"tls-required": {Action: "block"}} },
			want: []string{"spec.rules[tls-required].action"}},
		{name: "rule scope", spec: func(s *WebSocketPolicySpec) { s.Rules = map[string]RuleSetting{"tls-required": {Scope: "namespace"}} },
			want: []string{"spec.rules[tls-required].scope"}},

		// spec.excludedNamespaces
		{name: "excluded namespaces", spec: func(s *WebSocketPolicySpec) { s.ExcludedNamespaces = []string{"legacy", "team-b"} }},
		{name: "excluded namespace not a name", spec: func(s *WebSocketPolicySpec) { s.ExcludedNamespaces = []string{"legacy", "Team_B"} },
			want: []string{"spec.excludedNamespaces[1]"}},
		{name: "excluded namespace twice", spec: func(s *WebSocketPolicySpec) { s.ExcludedNamespaces = []string{"legacy", "legacy"} },
			want: []string{"spec.excludedNamespaces[1]"}},

		// spec.audit.interval: >= 10s
		{name: "audit interval 10s", spec: func(s *WebSocketPolicySpec) { s.Audit.Interval = dur(10 * time.Second) }},
		{name: "audit interval 1h", spec: func(s *WebSocketPolicySpec) { s.Audit.Interval = dur(time.Hour) }},
		{name: "audit interval 9s", spec: func(s *WebSocketPolicySpec) { s.Audit.Interval = dur(9 * time.Second) },
			want: []string{"spec.audit.interval"}},
		{name: "audit interval negative", spec: func(s *WebSocketPolicySpec) { s.Audit.Interval = dur(-time.Minute) },
			want: []string{"spec.audit.interval"}},

		// spec.nginxAnnotationPrefix
		{name: "nginx prefix", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationPrefix = "custom.io" }},
		{name: "nginx prefix with a trailing slash", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationPrefix = "nginx.ingress.kubernetes.io/" }},
		{name: "nginx prefix single label", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationPrefix = "nginx" }},
		{name: "nginx prefix two slashes", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationPrefix = "custom.io//" },
			want: []string{"spec.nginxAnnotationPrefix"}},
		{name: "nginx prefix with a path", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationPrefix = "custom.io/nginx" },
			want: []string{"spec.nginxAnnotationPrefix"}},
		{name: "nginx prefix uppercase", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationPrefix = "Custom.IO" },
			want: []string{"spec.nginxAnnotationPrefix"}},
		{name: "nginx prefix only a slash", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationPrefix = "/" },
			want: []string{"spec.nginxAnnotationPrefix"}},

		// spec.nginxAnnotationsRiskLevel
		{name: "risk Critical", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationsRiskLevel = "Critical" }},
		{name: "risk High", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationsRiskLevel = "High" }},
		{name: "risk Medium", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationsRiskLevel = "Medium" }},
		{name: "risk Low", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationsRiskLevel = "Low" }},
		{name: "risk lowercase", spec: func(s *WebSocketPolicySpec) { s.NginxAnnotationsRiskLevel = "high" },
			want: []string{"spec.nginxAnnotationsRiskLevel"}},

		// spec.minIdleTimeoutSeconds: >= 1
		{name: "min idle timeout 1", spec: func(s *WebSocketPolicySpec) { s.MinIdleTimeoutSeconds = i32(1) }},
		{name: "min idle timeout 0", spec: func(s *WebSocketPolicySpec) { s.MinIdleTimeoutSeconds = i32(0) },
			want: []string{"spec.minIdleTimeoutSeconds"}},

		// Every problem is reported, not just the first.
		{name: "several", spec: func(s *WebSocketPolicySpec) {
			s.Mutation.IdleTimeoutSeconds = i32(0)
			s.Mutation.Affinity.SameSite = "lax"
			s.Rules = map[string]RuleSetting{"zzz": {}, "aaa": {}, "tls-required": {Action: "x", Scope: "y"}}
			s.Audit.Interval = dur(time.Second)
			s.MinIdleTimeoutSeconds = i32(-1)
		}, want: []string{
			"spec.mutation.idleTimeoutSeconds", "spec.mutation.affinity.sameSite",
			"spec.rules[aaa]", "spec.rules[tls-required].action", "spec.rules[tls-required].scope", "spec.rules[zzz]",
			"spec.audit.interval", "spec.minIdleTimeoutSeconds",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s WebSocketPolicySpec
			tc.spec(&s)
			errs := s.Validate()
			if got := paths(errs); !slices.Equal(got, tc.want) {
				t.Fatalf("field paths %q, want %q\n%v", got, tc.want, errs)
			}
			if tc.msg != "" && !strings.Contains(errs[0].Error(), tc.msg) {
				t.Errorf("%q does not say %q", errs[0].Error(), tc.msg)
			}
			// A valid value stays valid with every other field defaulted.
			if len(tc.want) == 0 {
				if errs := s.WithDefaults().Validate(); len(errs) != 0 {
					t.Errorf("defaulted: %v", errs)
				}
			}
		})
	}
}

func paths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

func TestValidateObjectName(t *testing.T) {
	p := &WebSocketPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if errs := p.Validate(); len(errs) != 0 {
		t.Errorf("default: %v", errs)
	}
	p.Name = "mine"
	p.Spec.Mutation.IdleTimeoutSeconds = i32(0)
	if got, want := paths(p.Validate()), []string{"metadata.name", "spec.mutation.idleTimeoutSeconds"}; !slices.Equal(got, want) {
		t.Errorf("paths %q, want %q", got, want)
	}
}

// TestWithDefaults: the built-in policy is valid, sets every field, and
// defaulting is idempotent and keeps what a policy set.
func TestWithDefaults(t *testing.T) {
	b := WebSocketPolicySpec{}.WithDefaults()
	if errs := b.Validate(); len(errs) != 0 {
		t.Fatalf("the built-in policy is invalid: %v", errs)
	}
	if !reflect.DeepEqual(b, BuiltinPolicy()) {
		t.Error("BuiltinPolicy differs from the defaulted empty spec")
	}
	if !reflect.DeepEqual(b.WithDefaults(), b) {
		t.Errorf("WithDefaults is not idempotent:\n%+v\n%+v", b.WithDefaults(), b)
	}
	m := b.Mutation
	switch {
	case m.IdleTimeoutSeconds == nil || *m.IdleTimeoutSeconds != DefaultIdleTimeoutSeconds,
		m.Affinity.Enabled == nil || !*m.Affinity.Enabled,
		m.Affinity.CookieName != DefaultCookieName,
		m.Affinity.CookieMaxAgeSeconds == nil || *m.Affinity.CookieMaxAgeSeconds != DefaultCookieMaxAgeSeconds,
		m.Affinity.SameSite != DefaultCookieSameSite,
		m.Affinity.SecureOnTLS == nil || !*m.Affinity.SecureOnTLS,
		m.ServiceAffinity.Enabled == nil || !*m.ServiceAffinity.Enabled,
		m.ServiceAffinity.TimeoutSeconds == nil || *m.ServiceAffinity.TimeoutSeconds != DefaultClientIPTimeoutSeconds,
		m.PortProtocolHint != "http",
		b.NginxAnnotationPrefix != DefaultNginxAnnotationPrefix,
		b.NginxAnnotationsRiskLevel != "High",
		b.MinIdleTimeoutSeconds == nil || *b.MinIdleTimeoutSeconds != DefaultIdleTimeoutSeconds,
		b.Audit.Interval == nil || b.Audit.Interval.Duration != 5*time.Minute,
		b.Enforcement.OutsideOptIn != ActionWarn, b.Enforcement.OptedOut != ActionOff,
		len(b.Rules) != len(BuiltinRules):
		t.Errorf("built-in policy lacks a default: %+v", b)
	}
	for id, r := range b.Rules {
		if r != BuiltinRules[id] {
			t.Errorf("rule %s: %+v, want %+v", id, r, BuiltinRules[id])
		}
	}

	set := WebSocketPolicySpec{
		Mutation: MutationSpec{IdleTimeoutSeconds: i32(60), Affinity: AffinitySpec{Enabled: no(), CookieName: "c", SameSite: "None"},
			ServiceAffinity: ServiceAffinitySpec{TimeoutSeconds: i32(5)}, PortProtocolHint: PortProtocolWS},
		Rules:                     map[string]RuleSetting{"tls-required": {Action: ActionOff}},
		Audit:                     AuditSpec{Interval: dur(time.Minute)},
		NginxAnnotationPrefix:     "custom.io",
		NginxAnnotationsRiskLevel: RiskLevelCritical,
		MinIdleTimeoutSeconds:     i32(10),
		Enforcement:               EnforcementSpec{OutsideOptIn: ActionDeny, OptedOut: ActionAudit},
	}
	d := set.WithDefaults()
	if !reflect.DeepEqual(d.WithDefaults(), d) {
		t.Error("WithDefaults is not idempotent on a policy with settings")
	}
	if *d.Mutation.IdleTimeoutSeconds != 60 || *d.Mutation.Affinity.Enabled || d.Mutation.Affinity.CookieName != "c" ||
		d.Mutation.Affinity.SameSite != "None" || *d.Mutation.ServiceAffinity.TimeoutSeconds != 5 || d.Mutation.PortProtocolHint != PortProtocolWS ||
		d.Rules["tls-required"].Action != ActionOff || d.Rules["tls-required"].Scope != ScopeOptedIn || d.Audit.Interval.Duration != time.Minute ||
		d.NginxAnnotationPrefix != "custom.io" || d.NginxAnnotationsRiskLevel != RiskLevelCritical || *d.MinIdleTimeoutSeconds != 10 ||
		d.Enforcement != (EnforcementSpec{OutsideOptIn: ActionDeny, OptedOut: ActionAudit}) {
		t.Errorf("WithDefaults replaced a setting: %+v", d)
	}
	if errs := d.Validate(); len(errs) != 0 {
		t.Error(errs)
	}
}

func TestAtMost(t *testing.T) {
	for _, tc := range []struct{ a, ceiling, want RuleAction }{
		{ActionDeny, ActionDeny, ActionDeny},
		{ActionDeny, ActionWarn, ActionWarn},
		{ActionWarn, ActionWarn, ActionWarn},
		{ActionAudit, ActionWarn, ActionAudit},
		{ActionOff, ActionWarn, ActionOff},
		{ActionDeny, ActionAudit, ActionAudit},
		{ActionWarn, ActionOff, ActionOff},
	} {
		if got := AtMost(tc.a, tc.ceiling); got != tc.want {
			t.Errorf("AtMost(%s, %s) = %s, want %s", tc.a, tc.ceiling, got, tc.want)
		}
	}
}

// TestDeepCopy: the generated DeepCopy shares no memory with the original.
func TestDeepCopy(t *testing.T) {
	p := &WebSocketPolicy{Spec: WebSocketPolicySpec{
		Mutation:              MutationSpec{IdleTimeoutSeconds: i32(60)},
		Rules:                 map[string]RuleSetting{"tls-required": {Action: ActionOff}},
		ExcludedNamespaces:    []string{"a"},
		Audit:                 AuditSpec{Interval: dur(time.Minute)},
		MinIdleTimeoutSeconds: i32(10),
	}, Status: WebSocketPolicyStatus{Conditions: []metav1.Condition{{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonApplied}}}}
	c := p.DeepCopyObject().(*WebSocketPolicy)
	if !reflect.DeepEqual(c, p) {
		t.Fatal("copy differs")
	}
	*c.Spec.Mutation.IdleTimeoutSeconds = 1
	c.Spec.Rules["tls-required"] = RuleSetting{}
	c.Spec.ExcludedNamespaces[0] = "b"
	c.Spec.Audit.Interval.Duration = 0
	*c.Spec.MinIdleTimeoutSeconds = 1
	c.Status.Conditions[0].Reason = ReasonInvalid
	if !reflect.DeepEqual(p.Spec.Mutation.IdleTimeoutSeconds, i32(60)) || p.Spec.Rules["tls-required"].Action != ActionOff ||
		p.Spec.ExcludedNamespaces[0] != "a" || p.Spec.Audit.Interval.Duration != time.Minute || *p.Spec.MinIdleTimeoutSeconds != 10 ||
		p.Status.Conditions[0].Reason != ReasonApplied {
		t.Error("the copy shares memory with the original")
	}
	l := &WebSocketPolicyList{Items: []WebSocketPolicy{*p}}
	if !reflect.DeepEqual(l.DeepCopyObject(), l) {
		t.Error("list copy differs")
	}
}

func TestEdgeProvider(t *testing.T) {
	if got := BuiltinPolicy().Edge.Provider; got != EdgeProviderAuto {
		t.Errorf("default spec.edge.provider = %q, want auto", got)
	}
	for _, p := range EdgeProviders {
		if errs := (WebSocketPolicySpec{Edge: EdgeSpec{Provider: p}}).Validate(); len(errs) != 0 {
			t.Errorf("%s refused: %v", p, errs)
		}
	}
	errs := WebSocketPolicySpec{Edge: EdgeSpec{Provider: "aws"}}.Validate()
	if len(errs) != 1 || errs[0].Field != "spec.edge.provider" {
		t.Errorf("provider aws: %v", errs)
	}
}
