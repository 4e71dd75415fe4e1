"""The Kubernetes runner: ``download-bulk`` as a pod (deferrable), exit code 2 not retried."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from candlelake.airflow.runners import SUBCOMMAND, USAGE_EXIT_CODE, Runner

if TYPE_CHECKING:
    from kubernetes.client import models as k8s


def container_exit_code(pod: k8s.V1Pod | None, container: str) -> int | None:
    """The exit code of a terminated container of a pod, if the pod says so."""
    statuses = (pod.status.container_statuses if pod is not None and pod.status else None) or []
    for status in statuses:
        if status.name == container and status.state and status.state.terminated:
            return int(status.state.terminated.exit_code)
    return None


class KubernetesDownloadOperator(KubernetesPodOperator):
    """KubernetesPodOperator that fails without retry when the command exits with code 2."""

    def cleanup(
        self,
        pod: k8s.V1Pod,
        remote_pod: k8s.V1Pod,
        xcom_result: dict[str, Any] | None = None,
        context: Any = None,
    ) -> None:
        try:
            super().cleanup(pod, remote_pod, xcom_result, context)
        except (AirflowSkipException, AirflowFailException):
            raise
        except AirflowException as exc:
            if container_exit_code(remote_pod, self.base_container_name) == USAGE_EXIT_CODE:
                raise AirflowFailException(
                    f"candlelake {SUBCOMMAND} exited with code {USAGE_EXIT_CODE} (bad input: not retried)"
                ) from exc
            raise


class KubernetesRunner(Runner):
    """A pod (KubernetesPodOperator); ``arguments`` go to the image's entrypoint."""

    operator_class = KubernetesDownloadOperator

    def static_kwargs(self) -> dict[str, Any]:
        from kubernetes.client import models as k8s

        k = self.settings.kubernetes
        limits = {"memory": k.memory_limit} if k.memory_limit else None
        kwargs: dict[str, Any] = {
            "image": k.image,
            "namespace": k.namespace,
            "env_vars": dict(self.settings.env),
            "container_resources": k8s.V1ResourceRequirements(
                requests={"cpu": k.cpu_request, "memory": k.memory_request}, limits=limits
            ),
            "get_logs": True,
            "on_finish_action": "delete_pod",
            # The triggerer follows the pod; no worker slot is held while it runs.
            "deferrable": k.deferrable,
        }
        optional = {
            "kubernetes_conn_id": k.kubernetes_conn_id,
            "in_cluster": k.in_cluster,
            "service_account_name": k.service_account_name,
            "image_pull_policy": k.image_pull_policy,
        }
        kwargs.update({key: v for key, v in optional.items() if v is not None})
        return kwargs

    def expand_kwargs(self, args: list[str]) -> dict[str, Any]:
        return {"arguments": [SUBCOMMAND, *args]}
