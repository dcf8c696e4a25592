-- Orders above a threshold, as a SQL task file with named parameter markers.
CREATE OR REPLACE TEMPORARY VIEW orders AS
SELECT * FROM VALUES (1, 'a', 10.0), (2, 'b', 25.5), (3, 'c', 40.0) AS t(id, customer, amount);

SELECT customer, amount, :label AS label
FROM orders
WHERE amount > CAST(:min_amount AS DOUBLE)  -- a comment; with a semicolon
ORDER BY amount DESC;
