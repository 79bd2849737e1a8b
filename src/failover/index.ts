// Front door of src/failover (filled in by its issue).
export {};
