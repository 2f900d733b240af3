// Package edge knows the cloud load balancer a Service of type
// LoadBalancer gets: which provider builds it (Detect), the annotation
// through which that provider sets the load balancer's idle timeout, in the
// provider's own unit and range (Settings), and whether the provider refuses
// sessionAffinity: ClientIP. The facts, with their sources, are in
// docs/edge.md; mutation, the edge rules and `webhook explain` all read them
// from here.
package edge

import (
	"regexp"
	"strings"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
)

// Provider names a load balancer implementation: the values of the policy's
// spec.edge.provider, besides auto ("" is unknown).
type Provider string

// Providers.
const (
	Unknown      Provider = ""
	AWSCLB       Provider = "aws-clb" // the AWS cloud provider (legacy, in-tree or CCM)
	AWSNLB       Provider = "aws-nlb" // the AWS Load Balancer Controller (or EKS Auto Mode)
	Azure        Provider = "azure"
	GCP          Provider = "gcp"
	DigitalOcean Provider = "digitalocean"
	OCI          Provider = "oci"
	Hetzner      Provider = "hetzner"
	Scaleway     Provider = "scaleway"
	Vultr        Provider = "vultr"
	Civo         Provider = "civo"
	Linode       Provider = "linode"
	MetalLB      Provider = "metallb"
	None         Provider = v1alpha1.EdgeProviderNone
)

// Variant refines a provider where one provider builds different load
// balancers.
type Variant string

// Variants.
const (
	// CCMNLB is an NLB the AWS cloud provider builds itself
	// (aws-load-balancer-type: nlb, no AWS Load Balancer Controller).
	CCMNLB Variant = "nlb"
	// EKSAuto is EKS Auto Mode's NLB (class eks.amazonaws.com/nlb).
	EKSAuto Variant = "eks-auto"
	// OCINLB is OCI's network load balancer (pass-through).
	OCINLB Variant = "nlb"
	// DORegional is DigitalOcean's proxying REGIONAL load balancer;
	// DORegionalNetwork its pass-through one (the CCM's default since
	// v0.1.61); "" when the Service does not say.
	DORegional        Variant = "REGIONAL"
	DORegionalNetwork Variant = "REGIONAL_NETWORK"
)

// LB is the load balancer in front of one Service.
type LB struct {
	Provider Provider
	Variant  Variant
	// Source says how the provider was recognised (for messages and
	// `webhook explain`).
	Source string
}

// Name is how the load balancer reads in messages.
func (lb LB) Name() string {
	switch lb.Provider {
	case AWSCLB:
		if lb.Variant == CCMNLB {
			return "AWS NLB (AWS cloud provider)"
		}
		return "AWS Classic ELB (AWS cloud provider)"
	case AWSNLB:
		if lb.Variant == EKSAuto {
			return "AWS NLB (EKS Auto Mode)"
		}
		return "AWS NLB (AWS Load Balancer Controller)"
	case Azure:
		return "Azure Load Balancer"
	case GCP:
		return "Google Cloud passthrough Network Load Balancer"
	case DigitalOcean:
		return "DigitalOcean Load Balancer" + variantSuffix(lb.Variant)
	case OCI:
		if lb.Variant == OCINLB {
			return "OCI Network Load Balancer"
		}
		return "OCI Load Balancer"
	case Hetzner:
		return "Hetzner Cloud Load Balancer"
	case Scaleway:
		return "Scaleway Load Balancer"
	case Vultr:
		return "Vultr Load Balancer"
	case Civo:
		return "Civo Load Balancer"
	case Linode:
		return "Linode NodeBalancer"
	case MetalLB:
		return "MetalLB"
	case None:
		return "none"
	}
	return "unknown"
}

func variantSuffix(v Variant) string {
	if v == "" {
		return ""
	}
	return " (" + string(v) + ")"
}

// RefusesClientIP reports whether the provider refuses to build a load
// balancer for a Service with sessionAffinity ClientIP: the AWS cloud
// provider ("unsupported load balancer affinity: ClientIP", Classic ELB and
// its own NLB alike) and OCI ("OCI only supports SessionAffinity None").
func (lb LB) RefusesClientIP() bool {
	return lb.Provider == AWSCLB || (lb.Provider == OCI && lb.Variant != OCINLB)
}

// AcceptsClientIP reports whether ClientIP affinity on the Service is known
// to be accepted: Azure (SourceIP distribution), GCP (CLIENT_IP), the AWS
// Load Balancer Controller (which ignores it), MetalLB (kube-proxy applies
// it), and no load balancer at all. An unknown provider may refuse it,
// and then never builds the load balancer: worse than no affinity.
func (lb LB) AcceptsClientIP() bool {
	switch lb.Provider {
	case Azure, GCP, AWSNLB, MetalLB, None:
		return true
	}
	return false
}

// Annotation key prefixes and keys that name a provider.
const (
	awsPrefix          = "service.beta.kubernetes.io/aws-load-balancer-"
	AWSTypeAnnotation  = awsPrefix + "type"
	azurePrefix        = "service.beta.kubernetes.io/azure-"
	doPrefix           = "service.beta.kubernetes.io/do-loadbalancer-"
	doIDAnnotation     = "kubernetes.digitalocean.com/load-balancer-id"
	DOTypeAnnotation   = doPrefix + "type"
	ociPrefix          = "service.beta.kubernetes.io/oci-load-balancer-"
	OCITypeAnnotation  = "oci.oraclecloud.com/load-balancer-type"
	ociNLBPrefix       = "oci-network-load-balancer.oraclecloud.com/"
	hetznerPrefix      = "load-balancer.hetzner.cloud/"
	scalewayPrefix     = "service.beta.kubernetes.io/scw-loadbalancer-"
	vultrPrefix        = "service.beta.kubernetes.io/vultr-loadbalancer-"
	civoPrefix         = "kubernetes.civo.com/"
	linodePrefix       = "service.beta.kubernetes.io/linode-loadbalancer-"
	metallbPrefix      = "metallb.io/"
	metallbOldPrefix   = "metallb.universe.tf/"
	gkeL4RBSAnnotation = "cloud.google.com/l4-rbs"
)

// Load balancer classes that name a provider.
const (
	ClassLBC     = "service.k8s.aws/nlb"
	ClassEKSAuto = "eks.amazonaws.com/nlb"
	gkeClassPre  = "networking.gke.io/l4-regional-"
)

// byAnnotation maps annotation key prefixes (or whole keys) to their
// provider, checked in order.
var byAnnotation = []struct {
	prefix   string
	provider Provider
}{
	{azurePrefix, Azure},
	{doIDAnnotation, DigitalOcean},
	{doPrefix, DigitalOcean},
	{OCITypeAnnotation, OCI},
	{ociPrefix, OCI},
	{ociNLBPrefix, OCI},
	{hetznerPrefix, Hetzner},
	{scalewayPrefix, Scaleway},
	{vultrPrefix, Vultr},
	{civoPrefix, Civo},
	{linodePrefix, Linode},
	{metallbPrefix, MetalLB},
	{metallbOldPrefix, MetalLB},
	{gkeL4RBSAnnotation, GCP},
	{"networking.gke.io/load-balancer-type", GCP},
	{"cloud.google.com/load-balancer-type", GCP},
}

// Status host names: a Classic ELB is <name>-<id>.<region>.elb.amazonaws.com,
// an NLB <name>-<id>.elb.<region>.amazonaws.com (cloud-provider-aws test
// fixtures); a NodeBalancer *.nodebalancer.linode.com.
var (
	clbHost    = regexp.MustCompile(`\.[a-z0-9-]+\.elb\.amazonaws\.com(\.cn)?$`)
	nlbHost    = regexp.MustCompile(`\.elb\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)
	linodeHost = regexp.MustCompile(`\.nodebalancer\.linode\.com$`)
)

// IsLoadBalancer reports whether obj is a Service of type LoadBalancer.
func IsLoadBalancer(obj map[string]any) bool {
	if kind, _ := obj["kind"].(string); kind != "Service" {
		return false
	}
	spec, _ := obj["spec"].(map[string]any)
	typ, _ := spec["type"].(string)
	return typ == "LoadBalancer"
}

// Detect recognises the load balancer of a Service of type LoadBalancer:
// spec.loadBalancerClass first (a class hands the Service to that
// implementation alone), then provider-only annotations, then the host
// names in status.loadBalancer.ingress, then policy (spec.edge.provider;
// "" or "auto": none). Unknown when nothing says.
func Detect(obj map[string]any, policy string) LB {
	spec, _ := obj["spec"].(map[string]any)
	md, _ := obj["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	str := func(k string) string { s, _ := ann[k].(string); return strings.TrimSpace(s) }
	policyProvider := Provider(policy)
	if policy == v1alpha1.EdgeProviderAuto {
		policyProvider = Unknown
	}

	if class, _ := spec["loadBalancerClass"].(string); class != "" {
		switch {
		case class == ClassLBC:
			return LB{Provider: AWSNLB, Source: "spec.loadBalancerClass " + class}
		case class == ClassEKSAuto:
			return LB{Provider: AWSNLB, Variant: EKSAuto, Source: "spec.loadBalancerClass " + class}
		case strings.HasPrefix(class, gkeClassPre):
			return LB{Provider: GCP, Source: "spec.loadBalancerClass " + class}
		}
		// Any other class hands the Service to an implementation we do not
		// know (MetalLB with --lb-class, Alibaba's NLB, ...).
		return LB{Source: "spec.loadBalancerClass " + class + " (not a load balancer ws-defaults knows)"}
	}

	// AWS: the legacy cloud provider builds a Classic ELB, or its own NLB
	// for type nlb; nlb-ip and external are left to the AWS Load Balancer
	// Controller. Without the policy saying aws-nlb (the controller's
	// webhook gives every new LoadBalancer Service its class, possibly
	// after this webhook ran), an AWS annotation means the cloud provider.
	awsType := strings.ToLower(str(AWSTypeAnnotation))
	awsKey := ""
	for k := range ann {
		if strings.HasPrefix(k, awsPrefix) && (awsKey == "" || k < awsKey) {
			awsKey = k
		}
	}
	hasAWS := awsKey != ""
	host := statusHost(obj)
	switch {
	case awsType == "nlb-ip" || awsType == "external":
		return LB{Provider: AWSNLB, Source: "annotation " + AWSTypeAnnotation + "=" + awsType}
	case hasAWS || clbHost.MatchString(host) || nlbHost.MatchString(host):
		source := "annotation " + awsKey
		if hasAWS && awsType != "" {
			source = "annotation " + AWSTypeAnnotation + "=" + awsType
		} else if !hasAWS {
			source = "status hostname " + host
		}
		if policyProvider == AWSNLB {
			return LB{Provider: AWSNLB, Source: source + " and policy spec.edge.provider aws-nlb"}
		}
		if awsType == "nlb" || (!hasAWS && nlbHost.MatchString(host)) {
			if !hasAWS {
				// Only the controller builds an NLB without an annotation.
				return LB{Provider: AWSNLB, Source: source}
			}
			return LB{Provider: AWSCLB, Variant: CCMNLB, Source: source}
		}
		return LB{Provider: AWSCLB, Source: source}
	}

	for _, b := range byAnnotation {
		for k := range ann {
			if strings.HasPrefix(k, b.prefix) {
				lb := LB{Provider: b.provider, Source: "annotation " + k}
				return withVariant(lb, str)
			}
		}
	}
	if linodeHost.MatchString(host) {
		return LB{Provider: Linode, Source: "status hostname " + host}
	}
	if policyProvider != Unknown {
		if policyProvider == AWSCLB || policyProvider == AWSNLB || policyProvider == None {
			return LB{Provider: policyProvider, Source: "policy spec.edge.provider"}
		}
		return withVariant(LB{Provider: policyProvider, Source: "policy spec.edge.provider"}, str)
	}
	return LB{Source: "nothing on the Service names its load balancer, and the policy's spec.edge.provider is auto"}
}

// withVariant reads the annotations that choose between a provider's load
// balancers.
func withVariant(lb LB, str func(string) string) LB {
	switch lb.Provider {
	case OCI:
		if strings.EqualFold(str(OCITypeAnnotation), "nlb") {
			lb.Variant = OCINLB
		}
	case DigitalOcean:
		switch strings.ToUpper(str(DOTypeAnnotation)) {
		case string(DORegional):
			lb.Variant = DORegional
		case string(DORegionalNetwork):
			lb.Variant = DORegionalNetwork
		}
	}
	return lb
}

// statusHost is the first host name in status.loadBalancer.ingress.
func statusHost(obj map[string]any) string {
	for _, a := range StatusAddresses(obj) {
		if strings.ContainsAny(a, "abcdefghijklmnopqrstuvwxyz") && strings.Contains(a, ".") && !strings.Contains(a, ":") {
			return a
		}
	}
	return ""
}

// StatusAddresses are the host names and IPs of an object's
// status.loadBalancer.ingress (Service, Ingress).
func StatusAddresses(obj map[string]any) []string {
	status, _ := obj["status"].(map[string]any)
	lb, _ := status["loadBalancer"].(map[string]any)
	ingress, _ := lb["ingress"].([]any)
	var out []string
	for _, i := range ingress {
		m, _ := i.(map[string]any)
		for _, k := range []string{"hostname", "ip"} {
			if s, _ := m[k].(string); s != "" {
				out = append(out, strings.ToLower(s))
			}
		}
	}
	return out
}
