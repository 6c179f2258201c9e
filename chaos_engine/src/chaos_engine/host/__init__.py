"""Host faults on Linux that always roll back."""
