package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Group and version of the WebSocketPolicy API.
const (
	Group   = "ws-defaults.io"
	Version = "v1alpha1"
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

// WebSocketPolicy is the cluster-wide policy. Only the object named
// "default" is read; without it the built-in defaults apply.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
type WebSocketPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec WebSocketPolicySpec `json:"spec,omitempty"`
}

// WebSocketPolicySpec tunes mutation and validation. Every field is optional:
// an unset field takes its built-in default (see defaults.go).
type WebSocketPolicySpec struct {
	// Mutation holds the values the mutating webhook injects.
	Mutation MutationSpec `json:"mutation,omitempty"`
	// Rules sets a rule's action and scope by rule id.
	Rules map[string]RuleSetting `json:"rules,omitempty"`
	// ExcludedNamespaces are never mutated or validated, in addition to the
	// system namespaces and the webhook's own.
	ExcludedNamespaces []string `json:"excludedNamespaces,omitempty"`
	// AuditInterval is how often the audit loop re-checks existing objects.
	AuditInterval *metav1.Duration `json:"auditInterval,omitempty"`
	// NginxAnnotationPrefix is ingress-nginx's --annotations-prefix.
	NginxAnnotationPrefix string `json:"nginxAnnotationPrefix,omitempty"`
	// MinIdleTimeoutSeconds is the lowest WebSocket idle timeout the
	// websocket-idle-timeout-too-low rule accepts.
	// +kubebuilder:validation:Minimum=1
	MinIdleTimeoutSeconds *int32 `json:"minIdleTimeoutSeconds,omitempty"`
}

// MutationSpec holds the values the mutating webhook injects.
type MutationSpec struct {
	// IdleTimeoutSeconds is the WebSocket idle timeout set on proxies.
	// +kubebuilder:validation:Minimum=1
	IdleTimeoutSeconds *int32 `json:"idleTimeoutSeconds,omitempty"`
	// Affinity configures cookie-based session affinity at the ingress.
	Affinity AffinitySpec `json:"affinity,omitempty"`
	// ServiceAffinity configures Service ClientIP affinity.
	ServiceAffinity ServiceAffinitySpec `json:"serviceAffinity,omitempty"`
	// PortProtocolHint is the appProtocol set on WebSocket Service ports.
	PortProtocolHint string `json:"portProtocolHint,omitempty"`
}

// AffinitySpec configures sticky-cookie session affinity at the ingress.
type AffinitySpec struct {
	Enabled *bool `json:"enabled,omitempty"`
	// CookieName is the sticky cookie's name.
	CookieName string `json:"cookieName,omitempty"`
	// CookieMaxAgeSeconds is the sticky cookie's Max-Age.
	CookieMaxAgeSeconds *int32 `json:"cookieMaxAgeSeconds,omitempty"`
	// SameSite is the cookie's SameSite attribute: Lax, Strict or None.
	// +kubebuilder:validation:Enum=Lax;Strict;None
	SameSite string `json:"sameSite,omitempty"`
	// SecureOnTLS marks the cookie Secure on Ingresses that have spec.tls.
	SecureOnTLS *bool `json:"secureOnTLS,omitempty"`
}

// ServiceAffinitySpec configures Service ClientIP affinity.
type ServiceAffinitySpec struct {
	Enabled *bool `json:"enabled,omitempty"`
	// TimeoutSeconds is sessionAffinityConfig.clientIP.timeoutSeconds.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`
}

// RuleSetting is one rule's action and scope (and, in the built-in
// catalog, its severity).
type RuleSetting struct {
	// +kubebuilder:validation:Enum=deny;warn;audit;off
	Action RuleAction `json:"action,omitempty"`
	// +kubebuilder:validation:Enum=cluster;opted-in
	Scope RuleScope `json:"scope,omitempty"`
	// Severity is fixed per rule (critical, high, medium, low); a policy
	// cannot change it.
	Severity string `json:"-"`
}
