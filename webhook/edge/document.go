package edge

// Document is input.edge for the rules (policies/README.md): for a Service
// of type LoadBalancer, its load balancer, each idle-timeout setting with
// the value the Service gives it as the provider reads it, and the
// annotations the load balancer ignores. For other objects
// {"loadBalancer": false, "settings": [], "ignored": []}. minIdle is the
// policy's minimum idle timeout: each setting says the value that meets it
// within the provider's range ("suggested", meaning "wantSeconds").
func Document(obj map[string]any, policyProvider string, minIdle int64) map[string]any {
	if !IsLoadBalancer(obj) {
		return map[string]any{"loadBalancer": false, "settings": []any{}, "ignored": []any{}}
	}
	lb := Detect(obj, policyProvider)
	settings := Settings(lb, obj)
	docs := make([]any, 0, len(settings))
	for _, s := range settings {
		v := s.Read(obj)
		d := map[string]any{
			"listener":    s.Listener,
			"key":         s.Key,
			"field":       s.Field(),
			"attribute":   s.Attribute,
			"unit":        string(s.Unit),
			"range":       "",
			"default":     s.Default,
			"note":        s.Note,
			"port":        int64(s.Port),
			"set":         v.Set,
			"seconds":     v.Seconds,
			"error":       "",
			"outOfRange":  v.OutOfRange,
			"suggested":   "",
			"wantSeconds": minIdle,
		}
		if s.Key != "" {
			d["range"] = s.RangeText()
			d["suggested"], d["wantSeconds"] = s.Format(minIdle)
		}
		if v.Err != nil {
			d["error"] = v.Err.Error()
		}
		docs = append(docs, d)
	}
	return map[string]any{
		"loadBalancer":    true,
		"provider":        string(lb.Provider),
		"variant":         string(lb.Variant),
		"name":            lb.Name(),
		"source":          lb.Source,
		"refusesClientIP": lb.RefusesClientIP(),
		"settings":        docs,
		"ignored":         ignored(lb, obj, settings),
	}
}

// ignored lists the annotations the Service's load balancer does not read
// although another of the provider's load balancers does: the Classic ELB
// idle timeout on an NLB.
func ignored(lb LB, obj map[string]any, settings []Setting) []any {
	out := []any{}
	nlb := lb.Provider == AWSNLB || (lb.Provider == AWSCLB && lb.Variant == CCMNLB)
	if _, set := annotations(obj)[AWSCLBIdleKey]; !set || !nlb {
		return out
	}
	use := "the AWS cloud provider's NLB has no idle-timeout setting (350 s); the AWS Load Balancer Controller's NLB sets it per listener with " +
		AWSListenerAttrsKey + ".TCP-<port>: " + AWSNLBIdleAttribute + "=<60-6000>"
	if lb.Provider == AWSNLB {
		for _, s := range settings {
			if s.Key != "" {
				use = "use " + s.Key + ": " + AWSNLBIdleAttribute + "=<60-6000>"
				break
			}
		}
	}
	return append(out, map[string]any{"key": AWSCLBIdleKey, "field": "metadata.annotations[" + AWSCLBIdleKey + "]", "use": use})
}
