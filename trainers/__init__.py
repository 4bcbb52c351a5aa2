"""Models behind the trainer contract: ``setup(config, seed)``, ``step()``, ``save()``,
``restore(state)``. Trainers know nothing about schedulers."""
