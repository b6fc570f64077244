"""Product Q&A: shoppers' questions about price, stock, spec and store policies, answered from the catalog."""
