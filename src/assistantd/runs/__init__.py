"""The run engine: queue, workers, context building, model turns, and the events they emit."""
