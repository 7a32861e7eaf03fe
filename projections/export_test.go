package projections

// PlanEncoder exposes a plan document of the batch cache, and its encoder, to the
// external tests: they change View between calls of Encode as the views do.
type PlanEncoder struct{ d planDoc }

// NewPlanEncoder returns an encoder of a plan document holding v, with nothing cached.
func NewPlanEncoder(v PlanView) *PlanEncoder { return &PlanEncoder{d: planDoc{view: v}} }

// View returns the document's view, to change in place.
func (e *PlanEncoder) View() *PlanView { return &e.d.view }

// Encode encodes the document as flushPlan does.
func (e *PlanEncoder) Encode() ([]byte, error) { return e.d.encode() }
