package runner

import "context"

type jobKey struct{}

// WithJob returns a context whose calls carry job (the reel job id): the
// request's job field is set, and the runner's stderr lines logged while the
// call is the only one in flight carry it as the "job" field.
func WithJob(ctx context.Context, job string) context.Context {
	return context.WithValue(ctx, jobKey{}, job)
}

func jobFrom(ctx context.Context) string {
	s, _ := ctx.Value(jobKey{}).(string)
	return s
}
