package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Group and version of the WebSocketPolicy API.
const (
	Group   = "ws-defaults.io"
	Version = "v1alpha1"
	// Kind and Resource name the API's one type.
	Kind     = "WebSocketPolicy"
	Resource = "websocketpolicies"
	// PolicyName is the name of the singleton WebSocketPolicy the webhook reads.
	PolicyName = "default"
)

// Labels and annotations users and the webhook put on objects.
const (
	// OptInLabel opts a Namespace (all its objects) or a single object in or out.
	OptInLabel = "ws-defaults"
	// OptInEnabled and OptInDisabled are the values of OptInLabel.
	OptInEnabled  = "enabled"
	OptInDisabled = "disabled"

	// DefaultedAnnotation records, comma-separated, the annotation keys and
	// field paths the webhook added, so people and GitOps tools can tell them
	// apart from what the user wrote.
	DefaultedAnnotation = "ws-defaults.io/defaulted"
	// WebSocketPortsAnnotation on a Service lists, comma-separated, the port
	// names or numbers that carry WebSocket traffic.
	WebSocketPortsAnnotation = "ws-defaults.io/websocket-ports"
	// IdleTimeoutAnnotation on a Namespace overrides the policy's idle
	// timeout (whole seconds) for that namespace.
	IdleTimeoutAnnotation = "ws-defaults.io/idle-timeout-seconds"
	// AffinityAnnotation on a Namespace turns affinity defaults "on" or "off"
	// for that namespace.
	AffinityAnnotation = "ws-defaults.io/affinity"
)

// RuleAction is what happens when a rule fires.
type RuleAction string

// Rule actions, mildest last.
const (
	ActionDeny  RuleAction = "deny"
	ActionWarn  RuleAction = "warn"
	ActionAudit RuleAction = "audit"
	ActionOff   RuleAction = "off"
)

// RuleScope says which objects a rule sees.
type RuleScope string

// Rule scopes.
const (
	// ScopeCluster rules see every namespace except the excluded ones.
	ScopeCluster RuleScope = "cluster"
	// ScopeOptedIn rules see opted-in objects only.
	ScopeOptedIn RuleScope = "opted-in"
)

// Values of spec.nginxAnnotationsRiskLevel: ingress-nginx's ConfigMap key
// annotations-risk-level, most permissive first.
const (
	RiskLevelCritical = "Critical"
	RiskLevelHigh     = "High"
	RiskLevelMedium   = "Medium"
	RiskLevelLow      = "Low"
)

// Values of spec.mutation.portProtocolHint (the appProtocol mutation sets on
// WebSocket Service ports). kubernetes.io/h2c is not one: it breaks the
// HTTP/1.1 Upgrade WebSocket needs.
const (
	// PortProtocolHTTP is HTTP to Istio and HTTP/1 to Linkerd: portable.
	PortProtocolHTTP = "http"
	// PortProtocolWS is WebSocket over cleartext; opaque TCP to Linkerd.
	PortProtocolWS = "kubernetes.io/ws"
	// PortProtocolWSS is WebSocket over TLS; mutation sets it on ports named
	// wss whatever the hint.
	PortProtocolWSS = "kubernetes.io/wss"
)

// The Ready condition of status.conditions and its reasons.
const (
	// ConditionReady is True when the webhook replicas apply the policy's
	// current generation (status.observedGeneration), False with
	// ReasonInvalid when they refused it and keep the last one that worked.
	ConditionReady = "Ready"
	ReasonApplied  = "Applied"
	ReasonInvalid  = "Invalid"
)

// WebSocketPolicy is the cluster-wide policy. Only the object named
// "default" is read; without it the built-in defaults apply.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=wspolicy,categories=ws-defaults
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'default'",message="metadata.name must be 'default': the webhook reads only the WebSocketPolicy named default"
type WebSocketPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec WebSocketPolicySpec `json:"spec,omitempty"`
	// Status is written by the webhook: whether it applies this generation.
	Status WebSocketPolicyStatus `json:"status,omitempty"`
}

// WebSocketPolicyList is a list of WebSocketPolicy objects.
//
// +kubebuilder:object:root=true
type WebSocketPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WebSocketPolicy `json:"items"`
}

// WebSocketPolicySpec tunes mutation and validation. Every field is optional:
// an unset field takes its built-in default (see defaults.go).
type WebSocketPolicySpec struct {
	// Mutation holds the values the mutating webhook injects.
	// +optional
	Mutation MutationSpec `json:"mutation,omitempty"`
	// Rules sets a rule's action and scope by rule id (the ids of rules.md);
	// an unknown id is refused by the webhook.
	// +optional
	Rules map[string]RuleSetting `json:"rules,omitempty"`
	// ExcludedNamespaces are never mutated or validated, in addition to the
	// system namespaces and the webhook's own.
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	ExcludedNamespaces []string `json:"excludedNamespaces,omitempty"`
	// Audit tunes the audit loop of `webhook serve`.
	// +optional
	Audit AuditSpec `json:"audit,omitempty"`
	// NginxAnnotationPrefix is ingress-nginx's --annotations-prefix
	// (default nginx.ingress.kubernetes.io): a DNS subdomain, a trailing "/"
	// is allowed.
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/?$') && (self.endsWith('/') ? self.size() <= 254 : self.size() <= 253)",message="must be a DNS subdomain such as nginx.ingress.kubernetes.io (lowercase letters, digits, '-' and '.'), optionally followed by '/'"
	// +optional
	NginxAnnotationPrefix string `json:"nginxAnnotationPrefix,omitempty"`
	// NginxAnnotationsRiskLevel is the annotations-risk-level of
	// ingress-nginx's ConfigMap (Critical, High, Medium or Low; default
	// High, ingress-nginx's own default): annotations riskier than it are
	// never injected, since ingress-nginx would reject the Ingress.
	// +kubebuilder:validation:Enum=Critical;High;Medium;Low
	// +optional
	NginxAnnotationsRiskLevel string `json:"nginxAnnotationsRiskLevel,omitempty"`
	// MinIdleTimeoutSeconds is the lowest WebSocket idle timeout the
	// websocket-idle-timeout-too-low rule accepts.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MinIdleTimeoutSeconds *int32 `json:"minIdleTimeoutSeconds,omitempty"`
	// CustomRules are the platform team's own Rego rules, judged like the
	// built-in ones (same input, actions, scopes, messages and metrics),
	// sandboxed and time-bounded. See the README's "Custom rules".
	// +listType=map
	// +listMapKey=id
	// +kubebuilder:validation:MaxItems=100
	// +optional
	CustomRules []CustomRule `json:"customRules,omitempty"`
	// Enforcement caps what cluster-scope rules do to objects that did not
	// opt in.
	// +optional
	Enforcement EnforcementSpec `json:"enforcement,omitempty"`
	// Edge describes the load balancer in front of the cluster's
	// LoadBalancer Services (docs/edge.md).
	// +optional
	Edge EdgeSpec `json:"edge,omitempty"`
}

// EnforcementSpec caps the action of cluster-scope rules (built-in and
// custom) on objects that are not opted in: a rule acts at most as the cap
// says (deny, then warn, then audit, then off). Opted-in objects get every
// rule's own action.
type EnforcementSpec struct {
	// OutsideOptIn caps cluster-scope rules on objects that neither they
	// nor their namespace opted in: deny (the rules' own action), warn
	// (default: a would-be denial is a warning), audit (recorded only) or
	// off. The chart value enforcement.outsideOptIn (webhook serve
	// --outside-opt-in) sets the default when this is unset.
	// +kubebuilder:validation:Enum=deny;warn;audit;off
	// +optional
	OutsideOptIn RuleAction `json:"outsideOptIn,omitempty"`
	// OptedOut caps cluster-scope rules on objects labelled
	// ws-defaults=disabled, or in a namespace labelled so without an
	// object label of their own: off (default: ws-defaults leaves them
	// alone), audit, warn or deny. Set it when the label must not be a way
	// around the cluster-scope rules.
	// +kubebuilder:validation:Enum=deny;warn;audit;off
	// +optional
	OptedOut RuleAction `json:"optedOut,omitempty"`
}

// EdgeSpec says which cloud load balancer a Service of type LoadBalancer
// gets, for clusters where it cannot be told from the Service itself.
type EdgeSpec struct {
	// Provider is the load balancer implementation of Services of type
	// LoadBalancer that name none themselves (spec.loadBalancerClass,
	// provider-only annotations, status): auto (default; from the Service
	// alone, else unknown, which gets no edge defaults), aws-clb (the AWS
	// cloud provider's Classic ELB), aws-nlb (the AWS Load Balancer
	// Controller's NLB), azure, gcp, digitalocean, oci, hetzner, scaleway,
	// vultr, civo, linode, metallb, or none (no load balancer in front).
	// +kubebuilder:validation:Enum=auto;aws-clb;aws-nlb;azure;gcp;digitalocean;oci;hetzner;scaleway;vultr;civo;linode;metallb;none
	// +optional
	Provider string `json:"provider,omitempty"`
}

// CustomRule is one team rule: a Rego module in a package under
// wsdefaults.custom that reports a set `violation` of {"field", "message"}
// objects.
type CustomRule struct {
	// ID names the rule in denials, warnings, reports and metrics:
	// lowercase letters, digits and '-', at most 63, not a built-in id.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	// +required
	ID string `json:"id"`
	// Action is what a finding does (default warn).
	// +kubebuilder:validation:Enum=deny;warn;audit;off
	// +optional
	Action RuleAction `json:"action,omitempty"`
	// Scope says which objects the rule sees (default opted-in).
	// +kubebuilder:validation:Enum=cluster;opted-in
	// +optional
	Scope RuleScope `json:"scope,omitempty"`
	// Severity is reported with each finding (default medium).
	// +kubebuilder:validation:Enum=low;medium;high;critical
	// +optional
	Severity string `json:"severity,omitempty"`
	// Rego is the module's source.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	// +required
	Rego string `json:"rego"`
}

// Custom rule defaults and limits.
const (
	DefaultCustomRuleAction   = ActionWarn
	DefaultCustomRuleScope    = ScopeOptedIn
	DefaultCustomRuleSeverity = "medium"
	MaxCustomRuleIDLength     = 63
	MaxCustomRules            = 100
	MaxCustomRuleRegoLength   = 65536
)

// Severities are the values a custom rule's severity takes.
var Severities = []string{"low", "medium", "high", "critical"}

// AuditSpec tunes the audit loop.
type AuditSpec struct {
	// Interval is how often the audit loop re-checks existing objects
	// (a Go duration such as 5m; at least 10s; default 5m).
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s')",message="must be a duration of at least 10s, such as 5m"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// MutationSpec holds the values the mutating webhook injects.
type MutationSpec struct {
	// IdleTimeoutSeconds is the WebSocket idle timeout set on proxies, in
	// whole seconds: 1 to 604800 (7 days).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=604800
	// +optional
	IdleTimeoutSeconds *int32 `json:"idleTimeoutSeconds,omitempty"`
	// Affinity configures cookie-based session affinity at the ingress.
	// +optional
	Affinity AffinitySpec `json:"affinity,omitempty"`
	// ServiceAffinity configures Service ClientIP affinity.
	// +optional
	ServiceAffinity ServiceAffinitySpec `json:"serviceAffinity,omitempty"`
	// PortProtocolHint is the appProtocol set on WebSocket Service ports:
	// http (default; HTTP to Istio and Linkerd), kubernetes.io/ws or
	// kubernetes.io/wss. Ports named wss always get kubernetes.io/wss.
	// +kubebuilder:validation:Enum=http;kubernetes.io/ws;kubernetes.io/wss
	// +optional
	PortProtocolHint string `json:"portProtocolHint,omitempty"`
}

// AffinitySpec configures sticky-cookie session affinity at the ingress.
type AffinitySpec struct {
	// Enabled turns the sticky-cookie defaults on (default) or off.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// CookieName is the sticky cookie's name: letters, digits and - . _ ~
	// (an RFC 6265 token that ingress-nginx does not replace with
	// INGRESSCOOKIE).
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[-._~a-zA-Z0-9]*$')",message="a cookie name may hold only letters, digits and - . _ ~ (no spaces): ingress-nginx replaces other names with INGRESSCOOKIE and RFC 6265 forbids separators; use e.g. ws-server"
	// +optional
	CookieName string `json:"cookieName,omitempty"`
	// CookieMaxAgeSeconds is the sticky cookie's Max-Age.
	// +kubebuilder:validation:Minimum=0
	// +optional
	CookieMaxAgeSeconds *int32 `json:"cookieMaxAgeSeconds,omitempty"`
	// SameSite is the cookie's SameSite attribute: Lax, Strict or None.
	// +kubebuilder:validation:Enum=Lax;Strict;None
	// +optional
	SameSite string `json:"sameSite,omitempty"`
	// SecureOnTLS marks the cookie Secure on Ingresses that have spec.tls.
	// +optional
	SecureOnTLS *bool `json:"secureOnTLS,omitempty"`
}

// ServiceAffinitySpec configures Service ClientIP affinity.
type ServiceAffinitySpec struct {
	// Enabled turns the Service ClientIP affinity default on (default) or off.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// TimeoutSeconds is sessionAffinityConfig.clientIP.timeoutSeconds:
	// 1 to 86400 (the API server's limit).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	// +optional
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`
}

// RuleSetting is one rule's action and scope (and, in the built-in
// catalog, its severity).
type RuleSetting struct {
	// Action is deny, warn, audit or off.
	// +kubebuilder:validation:Enum=deny;warn;audit;off
	// +optional
	Action RuleAction `json:"action,omitempty"`
	// Scope is cluster (every namespace not excluded) or opted-in.
	// +kubebuilder:validation:Enum=cluster;opted-in
	// +optional
	Scope RuleScope `json:"scope,omitempty"`
	// Severity is fixed per rule (critical, high, medium, low); a policy
	// cannot change it.
	Severity string `json:"-"`
}

// WebSocketPolicyStatus is what the webhook reports about the policy.
type WebSocketPolicyStatus struct {
	// ObservedGeneration is the metadata.generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready says whether the current generation is in effect,
	// and why not.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
