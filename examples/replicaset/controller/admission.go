package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/admission"
)

// Admit wraps a ReplicaSet client with the example's admission: Replicas
// defaults to 1, and an invalid spec is refused when it is written.
func Admit(c controlloop.Client[*ReplicaSet]) (*admission.Client[*ReplicaSet], error) {
	return admission.Wrap(c, admission.Options[*ReplicaSet]{
		Mutators:   []admission.Mutator[*ReplicaSet]{defaultReplicas},
		Validators: []admission.Validator[*ReplicaSet]{func(_ context.Context, rs *ReplicaSet) error { return Validate(rs) }},
	})
}

func defaultReplicas(_ context.Context, rs *ReplicaSet) error {
	if rs.Spec.Replicas == nil {
		one := 1
		rs.Spec.Replicas = &one
	}
	return nil
}

// Validate says what is wrong with rs's spec, if anything: negative
// replicas, an empty selector, or a selector the template's labels do not
// match (the ReplicaSet would never see the Pods it creates).
func Validate(rs *ReplicaSet) error {
	var errs []error
	if rs.Spec.Replicas != nil && *rs.Spec.Replicas < 0 {
		errs = append(errs, fmt.Errorf("spec.replicas is %d: must not be negative", *rs.Spec.Replicas))
	}
	if len(rs.Spec.Selector) == 0 {
		errs = append(errs, errors.New("spec.selector is empty: it would select every Pod"))
	} else if !(controlloop.Selector{Labels: rs.Spec.Selector}).MatchesLabels(rs.Spec.Template.Labels) {
		errs = append(errs, fmt.Errorf("spec.selector %v does not match spec.template.labels %v", rs.Spec.Selector, rs.Spec.Template.Labels))
	}
	return errors.Join(errs...)
}
