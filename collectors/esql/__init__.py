"""The embedded ES|QL engine: parse ES|QL, compile it to DuckDB SQL, run it offline."""
