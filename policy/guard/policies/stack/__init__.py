"""Stack policies: relational rules decided over the reachability model of the whole stack."""
