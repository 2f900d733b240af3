// Package cluster is what the admission handlers read from the cluster: the
// effective policy, the IngressClasses, and a namespace's labels and
// annotations. In `webhook serve` these come from the manager's informer
// cache; offline (`webhook check`, tests) from a fixed Snapshot.
package cluster

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ws-defaults/ws-defaults/api/v1alpha1"
	"github.com/ws-defaults/ws-defaults/webhook/ingressclass"
)

// Reader is the cluster as the handlers see it.
type Reader interface {
	// Policy returns the effective policy, defaults filled in.
	Policy(ctx context.Context) (v1alpha1.WebSocketPolicySpec, error)
	IngressClasses(ctx context.Context) ([]ingressclass.Class, error)
	// Namespace returns a namespace's labels and annotations; both are nil
	// when the namespace is unknown.
	Namespace(ctx context.Context, name string) (labels, annotations map[string]string, err error)
}

// Snapshot is a fixed Reader.
type Snapshot struct {
	PolicySpec v1alpha1.WebSocketPolicySpec
	Classes    []ingressclass.Class
	Namespaces map[string]metav1.ObjectMeta
}

var _ Reader = (*Snapshot)(nil)

func (s *Snapshot) Policy(context.Context) (v1alpha1.WebSocketPolicySpec, error) {
	return s.PolicySpec.WithDefaults(), nil
}

func (s *Snapshot) IngressClasses(context.Context) ([]ingressclass.Class, error) {
	return s.Classes, nil
}

func (s *Snapshot) Namespace(_ context.Context, name string) (map[string]string, map[string]string, error) {
	ns := s.Namespaces[name]
	return ns.Labels, ns.Annotations, nil
}

// Cached reads from a controller-runtime cache. Namespaces are read as
// metadata only, so the cache holds no more of them than it needs.
type Cached struct {
	Client client.Reader
}

var _ Reader = (*Cached)(nil)

// NamespaceGVK is the kind the cache watches namespaces as (metadata only).
var NamespaceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}

// Policy returns the built-in policy; the WebSocketPolicy object is read
// here once its CRD ships.
func (c *Cached) Policy(context.Context) (v1alpha1.WebSocketPolicySpec, error) {
	return v1alpha1.BuiltinPolicy(), nil
}

func (c *Cached) IngressClasses(ctx context.Context) ([]ingressclass.Class, error) {
	var list networkingv1.IngressClassList
	if err := c.Client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing IngressClasses: %w", err)
	}
	out := make([]ingressclass.Class, 0, len(list.Items))
	for _, ic := range list.Items {
		out = append(out, ingressclass.Class{
			Name:       ic.Name,
			Controller: ic.Spec.Controller,
			Default:    ic.Annotations[ingressclass.DefaultClassAnnotation] == "true",
		})
	}
	return out, nil
}

func (c *Cached) Namespace(ctx context.Context, name string) (map[string]string, map[string]string, error) {
	if name == "" {
		return nil, nil, nil
	}
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(NamespaceGVK)
	if err := c.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("reading namespace %s: %w", name, err)
	}
	return ns.Labels, ns.Annotations, nil
}
