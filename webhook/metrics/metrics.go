// Package metrics holds ws-defaults' Prometheus metrics, registered with
// controller-runtime's registry so they are served on the manager's
// metrics endpoint next to the built-in webhook latency metrics.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Mutation outcomes.
const (
	OutcomePatched   = "patched"
	OutcomeUnchanged = "unchanged"
	OutcomeSkipped   = "skipped" // not opted in, excluded, or not a create/update
	OutcomeError     = "error"
)

var (
	// Mutations counts mutation decisions by object kind, resolved
	// controller and outcome.
	Mutations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ws_defaults_mutations_total",
		Help: "Mutation decisions by kind, ingress controller and outcome.",
	}, []string{"kind", "controller", "outcome"})

	// MutationDuration times the mutation decision itself (not the HTTP
	// round trip, which controller_runtime_webhook_latency_seconds covers).
	MutationDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ws_defaults_mutation_duration_seconds",
		Help:    "Time to decide one mutation.",
		Buckets: durationBuckets,
	})
)

// durationBuckets reach 10 s so a slow outlier is still placed.
var durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10}

var (
	// Decisions counts rule results by rule id and the action taken.
	Decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ws_defaults_validation_decisions_total",
		Help: "Rule results by rule id and action (deny, warn, audit).",
	}, []string{"rule", "action"})

	// ValidationDuration times one validation (input, Rego, response).
	ValidationDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ws_defaults_validation_duration_seconds",
		Help:    "Time to judge one object against the rules.",
		Buckets: durationBuckets,
	})
)

// Policy reload results.
const (
	ReloadApplied  = "applied"
	ReloadRejected = "rejected"
)

var (
	// PolicyGeneration is metadata.generation of the WebSocketPolicy in
	// effect on this replica; 0 while the built-in policy applies.
	PolicyGeneration = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ws_defaults_policy_generation",
		Help: "Generation of the WebSocketPolicy in effect (0: built-in policy).",
	})

	// PolicyReloads counts policy generations seen, by whether they were
	// put in effect or rejected (the previous one staying in effect).
	PolicyReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ws_defaults_policy_reloads_total",
		Help: "Policy generations applied or rejected.",
	}, []string{"result"})
)

// RuleErrors counts rules that could not be evaluated for an object
// (custom rules past their time limit or failing at run time).
var RuleErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "ws_defaults_rule_errors_total",
	Help: "Rule evaluations that failed or ran out of time, by rule id.",
}, []string{"rule"})

// Shed counts admission requests answered without being judged because
// the webhook was at its concurrency limit (handler.Limiter): a /mutate
// request is allowed without a patch, a /validate request gets HTTP 503 so
// the API server applies the webhook's failure policy at once.
var Shed = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "ws_defaults_overload_shed_total",
	Help: "Admission requests shed at the concurrency limit, by webhook path (mutate: allowed without patch; validate: HTTP 503, the failure policy applies).",
}, []string{"webhook"})

// Audit loop metrics (interfaces.md "The audit loop in webhook serve").
var (
	// AuditLastRun is when the last complete audit pass ended.
	AuditLastRun = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ws_defaults_audit_last_run_timestamp_seconds",
		Help: "Unix time the last complete audit pass ended.",
	})

	// AuditDuration times whole audit passes.
	AuditDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ws_defaults_audit_duration_seconds",
		Help:    "Time one audit pass took.",
		Buckets: []float64{0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800},
	})

	// AuditObjects is how many objects the last pass judged, by kind.
	AuditObjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ws_defaults_audit_objects",
		Help: "Objects judged by the last audit pass, by kind.",
	}, []string{"kind"})

	// AuditFindings is how many findings the last pass had, by rule and
	// action (defaults-missing for drift; action error for rules that
	// could not be evaluated).
	AuditFindings = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ws_defaults_audit_findings",
		Help: "Findings of the last audit pass, by rule and action.",
	}, []string{"rule", "action"})

	// AuditReportWrites counts Report writes by operation (create, update,
	// delete); an unchanged pass adds none.
	AuditReportWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ws_defaults_audit_report_writes_total",
		Help: "OpenReports Report writes by the audit loop, by operation.",
	}, []string{"operation"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(Mutations, MutationDuration, Decisions, ValidationDuration, PolicyGeneration, PolicyReloads, RuleErrors, Shed,
		AuditLastRun, AuditDuration, AuditObjects, AuditFindings, AuditReportWrites)
}
