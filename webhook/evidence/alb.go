package evidence

import (
	"slices"
	"strings"
)

// AWS Load Balancer Controller annotations the index reads.
const (
	ALBGroupAnnotation                  = "alb.ingress.kubernetes.io/group.name"
	ALBLoadBalancerAttributesAnnotation = "alb.ingress.kubernetes.io/load-balancer-attributes"
	ALBTargetGroupAttributesAnnotation  = "alb.ingress.kubernetes.io/target-group-attributes"
)

// ALBGroup is what the index knows of the other members of an Ingress's
// AWS Load Balancer Controller IngressGroup: every member must agree on
// each load balancer attribute it sets, or the controller reports
// "conflicting load balancer attributes" and stops reconciling the whole
// group (model_build_load_balancer_attributes.go).
type ALBGroup struct {
	Name string
	// Members are the group's other Ingresses the index knows, sorted,
	// with the load balancer attributes each sets explicitly.
	Members []ALBMember
}

// ALBMember is one other member of an IngressGroup.
type ALBMember struct {
	// Ingress is namespace/name.
	Ingress    string
	Attributes map[string]string
}

// Conflicts are the members that set attr to a value other than value.
func (g *ALBGroup) Conflicts(attr, value string) []ALBMember {
	if g == nil {
		return nil
	}
	var out []ALBMember
	for _, m := range g.Members {
		if v, ok := m.Attributes[attr]; ok && v != value {
			out = append(out, m)
		}
	}
	return out
}

// document is the group as the rules read it (input.evidence.albGroup).
func (g *ALBGroup) document() map[string]any {
	members := make([]any, 0, len(g.Members))
	for _, m := range g.Members {
		attrs := make(map[string]any, len(m.Attributes))
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		members = append(members, map[string]any{"ingress": m.Ingress, "attributes": attrs})
	}
	return map[string]any{"name": g.Name, "members": members}
}

// ALBIndex is the AWS Load Balancer Controller part of an Index.
type ALBIndex interface {
	// ALBGroupMembers are the members of IngressGroup group other than
	// ingress (namespace/name), sorted by name.
	ALBGroupMembers(group, ingress string) []ALBMember
	// TargetGroupAttributes reports whether Service namespace/name sets its
	// own target-group-attributes (which replace an Ingress's), and whether
	// the index knows the Service at all.
	TargetGroupAttributes(namespace, name string) (sets, known bool)
}

// ParseAttributes reads a comma-separated key=value attribute annotation.
func ParseAttributes(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range SplitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); ok && k != "" {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// albFacts are the Ingress's IngressGroup and the backend Services that
// set their own target-group-attributes; nothing without an ALBIndex.
func albFacts(o object, idx Index, e *Evidence) {
	ai, ok := idx.(ALBIndex)
	if !ok {
		return
	}
	if group := strings.TrimSpace(o.annotations[ALBGroupAnnotation]); group != "" {
		e.ALBGroup = &ALBGroup{Name: group, Members: ai.ALBGroupMembers(group, o.namespace+"/"+o.name)}
	}
	for _, b := range IngressBackends(o.spec) {
		if b.Service == "" {
			continue
		}
		svc := o.namespace + "/" + b.Service
		if sets, _ := ai.TargetGroupAttributes(o.namespace, b.Service); sets && !slices.Contains(e.OwnTargetGroupAttributes, svc) {
			e.OwnTargetGroupAttributes = append(e.OwnTargetGroupAttributes, svc)
		}
	}
	slices.Sort(e.OwnTargetGroupAttributes)
}

// albMember is one IngressGroup member as the Set keeps it.
type albMember struct {
	owner string
	ALBMember
}

var _ ALBIndex = (*Set)(nil)

// ALBGroupMembers implements ALBIndex.
func (s *Set) ALBGroupMembers(group, ingress string) []ALBMember {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []ALBMember{}
	for _, m := range s.albGroups[group] {
		if m.Ingress != ingress {
			out = append(out, m.ALBMember)
		}
	}
	slices.SortFunc(out, func(a, b ALBMember) int { return strings.Compare(a.Ingress, b.Ingress) })
	return out
}

// TargetGroupAttributes implements ALBIndex.
func (s *Set) TargetGroupAttributes(namespace, name string) (sets, known bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	key := namespace + "/" + name
	_, known = s.serviceConfig[key]
	return s.tgAttributes[key], known
}
