"""The compute service (Nova v2.1): servers, their actions, flavors, key pairs, server
groups, aggregates, zones, hypervisors and services. Routes in
``stratus/api/routes/compute`` shape the wire; these modules hold the logic, write the
records (``stratus.db.models.compute``) and submit servers' work to the pipeline
(``stratus.orchestration.submit`` with ``OS::Nova::Server``)."""
