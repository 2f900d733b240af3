package evidence

import (
	"reflect"
	"testing"
)

func albIngress(ns, name, attrs string) string {
	return `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"` + name + `","namespace":"` + ns + `",
	 "annotations":{"alb.ingress.kubernetes.io/group.name":"shared","alb.ingress.kubernetes.io/load-balancer-attributes":"` + attrs + `"}},
	 "spec":{"ingressClassName":"alb","rules":[{"http":{"paths":[{"path":"/ws","pathType":"Prefix","backend":{"service":{"name":"chat","port":{"number":80}}}}]}}]}}`
}

// TestALBGroupMembers: an Ingress sees the other members of its
// IngressGroup, across namespaces, with the attributes each sets; a member
// deleted or moved out of the group is forgotten.
func TestALBGroupMembers(t *testing.T) {
	s := gatewaySet(t,
		albIngress("a", "one", "idle_timeout.timeout_seconds=3600"),
		albIngress("b", "two", "idle_timeout.timeout_seconds=120, deletion_protection.enabled=true"),
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"chat","namespace":"c","annotations":{"alb.ingress.kubernetes.io/target-group-attributes":"stickiness.enabled=false"}},"spec":{"ports":[{"port":80}]}}`,
	)
	e := Of(obj(t, albIngress("c", "three", "")), s, Options{})
	want := &ALBGroup{Name: "shared", Members: []ALBMember{
		{Ingress: "a/one", Attributes: map[string]string{"idle_timeout.timeout_seconds": "3600"}},
		{Ingress: "b/two", Attributes: map[string]string{"idle_timeout.timeout_seconds": "120", "deletion_protection.enabled": "true"}},
	}}
	if !reflect.DeepEqual(e.ALBGroup, want) {
		t.Errorf("group %+v, want %+v", e.ALBGroup, want)
	}
	if c := e.ALBGroup.Conflicts("idle_timeout.timeout_seconds", "3600"); len(c) != 1 || c[0].Ingress != "b/two" {
		t.Errorf("conflicts with 3600: %v, want b/two", c)
	}
	if !reflect.DeepEqual(e.OwnTargetGroupAttributes, []string{"c/chat"}) {
		t.Errorf("own target-group-attributes %v, want [c/chat]", e.OwnTargetGroupAttributes)
	}
	// A member never sees itself.
	if m := Of(obj(t, albIngress("a", "one", "")), s, Options{}).ALBGroup.Members; len(m) != 1 || m[0].Ingress != "b/two" {
		t.Errorf("a/one sees %v, want only b/two", m)
	}
	s.Delete(obj(t, albIngress("b", "two", "")), "")
	s.Add(obj(t, `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"one","namespace":"a"},"spec":{}}`), "")
	if m := Of(obj(t, albIngress("c", "three", "")), s, Options{}).ALBGroup.Members; len(m) != 0 {
		t.Errorf("deleted and ungrouped members still listed: %v", m)
	}
	if g := Of(obj(t, albIngress("c", "three", "")), nil, Options{}).ALBGroup; g != nil {
		t.Errorf("no index: want no group facts, got %+v", g)
	}
}
