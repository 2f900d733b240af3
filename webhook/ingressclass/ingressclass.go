// Package ingressclass resolves which ingress controller serves an Ingress:
// from its IngressClass, the legacy class annotation, the cluster's default
// IngressClass, and finally the class names controllers install by default.
package ingressclass

import (
	"strings"
)

// IngressClass spec.controller values of the controllers ws-defaults knows.
const (
	Nginx          = "k8s.io/ingress-nginx"
	HAProxyIngress = "haproxy-ingress.github.io/controller"
	HAProxyTech    = "haproxy.org/ingress-controller"
	ALB            = "ingress.k8s.aws/alb"
	Traefik        = "traefik.io/ingress-controller"
	Kong           = "ingress-controllers.konghq.com/kong"
	Contour        = "projectcontour.io/ingress-controller"
	GCE            = "k8s.io/ingress-gce"
)

// LegacyClassAnnotation is the pre-IngressClass way to pick a class.
const LegacyClassAnnotation = "kubernetes.io/ingress.class"

// DefaultClassAnnotation marks the cluster's default IngressClass.
const DefaultClassAnnotation = "ingressclass.kubernetes.io/is-default-class"

// wellKnown maps the class names that controllers' charts install by default
// to their controller; used only when no IngressClass object says otherwise.
// "haproxy" is the default of both HAProxy controllers' charts; the
// haproxytech one is the more common reading (and that of the guide "Kubernetes Ingress WebSocket Configuration").
var wellKnown = map[string]string{
	"nginx":           Nginx,
	"ingress-nginx":   Nginx,
	"traefik":         Traefik,
	"haproxy":         HAProxyTech,
	"haproxy-ingress": HAProxyIngress,
	"alb":             ALB,
	"kong":            Kong,
	"contour":         Contour,
	"gce":             GCE,
}

// Class is what resolution needs of an IngressClass object.
type Class struct {
	Name       string
	Controller string
	Default    bool
}

// Resolution says which controller serves an Ingress and how that was found.
type Resolution struct {
	// Controller is the IngressClass spec.controller value; "" when unknown.
	Controller string
	// ClassName is the class the Ingress asked for ("" when it named none).
	ClassName string
	// Source is how Controller was found: "ingressClass", "defaultClass",
	// "wellKnownName" or "" when it was not.
	Source string
}

// Resolve finds the controller for an Ingress with the given
// spec.ingressClassName and annotations, among the cluster's classes.
func Resolve(ingressClassName string, annotations map[string]string, classes []Class) Resolution {
	candidates := make([]string, 0, 2)
	if ingressClassName != "" {
		candidates = append(candidates, ingressClassName)
	}
	if a := annotations[LegacyClassAnnotation]; a != "" && a != ingressClassName {
		candidates = append(candidates, a)
	}
	for _, name := range candidates {
		for _, c := range classes {
			if c.Name == name {
				return Resolution{Controller: c.Controller, ClassName: candidates[0], Source: "ingressClass"}
			}
		}
	}
	if len(candidates) == 0 {
		for _, c := range classes {
			if c.Default {
				return Resolution{Controller: c.Controller, ClassName: c.Name, Source: "defaultClass"}
			}
		}
		return Resolution{}
	}
	for _, name := range candidates {
		if ctrl, ok := wellKnown[strings.ToLower(name)]; ok {
			return Resolution{Controller: ctrl, ClassName: candidates[0], Source: "wellKnownName"}
		}
	}
	return Resolution{ClassName: candidates[0]}
}

// Is reports whether controller is want, or want followed by "/<instance>"
// (haproxy-ingress, haproxytech and Contour append one when several
// instances run side by side).
func Is(controller, want string) bool {
	return controller == want || strings.HasPrefix(controller, want+"/")
}

// AnyIs reports whether one of classes is served by want.
func AnyIs(classes []Class, want string) bool {
	for _, c := range classes {
		if Is(c.Controller, want) {
			return true
		}
	}
	return false
}

// ForObject resolves the controller of an Ingress decoded from JSON; for
// other kinds it returns the zero Resolution.
func ForObject(obj map[string]any, classes []Class) Resolution {
	if kind, _ := obj["kind"].(string); kind != "Ingress" {
		return Resolution{}
	}
	spec, _ := obj["spec"].(map[string]any)
	className, _ := spec["ingressClassName"].(string)
	md, _ := obj["metadata"].(map[string]any)
	raw, _ := md["annotations"].(map[string]any)
	annotations := map[string]string{}
	if a, ok := raw[LegacyClassAnnotation].(string); ok {
		annotations[LegacyClassAnnotation] = a
	}
	return Resolve(className, annotations, classes)
}
