// The Gloo Mesh v1.1 certificate issuer on its own, single cluster: the reconciler, translator and
// status sync of pkg/certificates/issuer wired as pkg/mesh-networking/start.go wires them, but with
// the single-cluster builder and reconciler registration instead of the multicluster ones.
package main

import (
	"context"
	"os"
	"time"

	corev1clients "github.com/solo-io/external-apis/pkg/api/k8s/core/v1"
	certissuerinput "github.com/solo-io/gloo-mesh/pkg/api/certificates.mesh.gloo.solo.io/issuer/input"
	"github.com/solo-io/gloo-mesh/pkg/certificates/issuer/reconciliation"
	"github.com/solo-io/gloo-mesh/pkg/certificates/issuer/translation"
	"github.com/solo-io/gloo-mesh/pkg/common/schemes"
	skinput "github.com/solo-io/skv2/contrib/pkg/input"
	"github.com/solo-io/skv2/pkg/bootstrap"
	"github.com/solo-io/skv2/pkg/ezkube"
	"github.com/solo-io/skv2/pkg/reconcile"
	"github.com/spf13/cobra"
)

type local struct{ ezkube.ResourceId }

func (local) GetClusterName() string { return "" }

func main() {
	ctx := context.Background()
	opts := &bootstrap.Options{}
	cmd := &cobra.Command{
		Use: "cert-issuer",
		RunE: func(cmd *cobra.Command, args []string) error {
			return bootstrap.Start(ctx, func(ctx context.Context, p bootstrap.StartParameters) error {
				client := p.MasterManager.GetClient()
				return reconciliation.Start(ctx,
					func(ctx context.Context, rec skinput.MultiClusterReconcileFunc, interval time.Duration) error {
						_, err := certissuerinput.RegisterSingleClusterReconciler(ctx, p.MasterManager,
							func(id ezkube.ResourceId) (bool, error) { return rec(local{id}) }, interval, reconcile.Options{})
						return err
					},
					certissuerinput.NewSingleClusterBuilder(p.MasterManager),
					func(ctx context.Context, snap certissuerinput.Snapshot) error {
						return snap.SyncStatuses(ctx, client, certissuerinput.SyncStatusOptions{CertificateRequest: true})
					},
					translation.NewTranslator(corev1clients.NewSecretClient(client)),
				)
			}, *opts, schemes.SchemeBuilder, true)
		},
	}
	opts.AddToFlags(cmd.PersistentFlags())
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
}
